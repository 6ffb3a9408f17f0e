"""The exchange side of dropcopy: order entry (MSGW gateways, matching engine), the activity
stream and the Drop Copy wing (see DESIGN.md, "Layout")."""
