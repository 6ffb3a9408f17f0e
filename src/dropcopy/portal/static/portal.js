// Request Center: the few behaviours plain HTML forms cannot do alone -- opening the <dialog>
// windows, the Add Source SenderComps list, the two steps of Generate Keys and the Delete Keys
// confirmation. Our own code, no library. Loaded from /static (the pages forbid inline script).
"use strict";

(function () {
  document.documentElement.classList.add("js");

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function openDialog(dialog) {
    if (!dialog) return;
    dialog.dispatchEvent(new CustomEvent("portal:open"));
    if (!dialog.open) dialog.showModal();
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- dialogs, selection, company --------------------------------------------------------

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open]");
    if (opener) {
      event.preventDefault();
      openDialog(document.getElementById(opener.getAttribute("data-open")));
      return;
    }
    var closer = event.target.closest("[data-close]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });

  function initCompany() {
    all("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });
  }

  // "Manage Keys for Selected Session(s)" needs at least one ticked session.
  function initSelection() {
    all("form[data-needs-selection]").forEach(function (form) {
      var name = form.getAttribute("data-needs-selection");
      var message = form.querySelector("[data-selection-error]");
      form.addEventListener("submit", function (event) {
        if (!form.querySelector('input[name="' + name + '"]:checked')) {
          event.preventDefault();
          if (message) message.hidden = false;
        }
      });
      form.addEventListener("change", function () {
        if (message) message.hidden = true;
      });
    });
  }

  // View IPs in a window (the link also works as a page of its own).
  function initViewIps() {
    var dialog = document.getElementById("ips-dialog");
    if (!dialog) return;
    var body = dialog.querySelector("[data-ips-body]");
    all("a[data-view-ips]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        body.textContent = "Loading…";
        openDialog(dialog);
        fetch(link.getAttribute("href") + "?fragment=1", { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) throw new Error("HTTP " + response.status);
            return response.text();
          })
          .then(function (html) {
            // Our own server-rendered, autoescaped fragment.
            body.innerHTML = html;
          })
          .catch(function () {
            body.textContent = "The IPs could not be loaded.";
          });
      });
    });
  }

  // -- Add Source SenderComps (create and edit) --------------------------------------------

  function initSources() {
    var form = document.querySelector("form[data-source-form]");
    var dialog = document.getElementById("add-sources");
    if (!form) return;
    var section = form.querySelector("[data-source-list-section]");
    var rows = section.querySelector("[data-source-rows]");
    var inputName = section.getAttribute("data-input");
    var emptyNote = section.querySelector("[data-empty-note]");
    var warning = section.querySelector("[data-empty-warning]");
    var envSelect = form.querySelector("[data-environment-select]");
    var envNote = section.querySelector("[data-env-note]");

    function listed() {
      var ids = {};
      all("tr[data-source-id]", rows).forEach(function (row) {
        ids[row.getAttribute("data-source-id")] = row.getAttribute("data-state");
      });
      return ids;
    }

    function refresh() {
      var states = listed();
      var keys = Object.keys(states);
      var left = keys.filter(function (id) {
        return states[id] !== "removing";
      }).length;
      if (emptyNote) emptyNote.hidden = keys.length > 0;
      if (warning) {
        var hadSources = keys.some(function (id) {
          return states[id] !== "adding";
        });
        warning.hidden = !(hadSources && left === 0);
      }
      if (!dialog) return;
      var shown = 0;
      all("[data-choice]", dialog).forEach(function (label) {
        var taken = label.getAttribute("data-choice") in states;
        label.hidden = taken;
        if (taken) label.querySelector("input").checked = false;
        else shown += 1;
      });
      dialog.querySelector("[data-no-choices]").hidden = shown > 0;
    }

    function addRow(id, label, environment) {
      var row = el("tr", {
        "data-source-id": id,
        "data-environment": environment,
        "data-state": "adding",
      });
      row.appendChild(el("td", {}, label));
      row.appendChild(el("td", {}, environment));
      if (inputName === "add") row.appendChild(el("td", { "data-status": "" }, "To be added"));
      var cell = el("td");
      var button = el(
        "button",
        { type: "button", class: "remove", "data-remove": "", "aria-label": "Remove " + label },
        "(x)"
      );
      cell.appendChild(button);
      cell.appendChild(el("input", { type: "hidden", name: inputName, value: id }));
      row.appendChild(cell);
      rows.appendChild(row);
    }

    function toggleRemoval(row, button) {
      var label = button.getAttribute("data-label");
      var status = row.querySelector("[data-status]");
      var hidden = row.querySelector('input[name="remove"]');
      if (row.getAttribute("data-state") === "removing") {
        row.setAttribute("data-state", "attached");
        row.classList.remove("removing");
        if (hidden) hidden.remove();
        status.textContent = "Attached";
        button.textContent = "(x)";
        button.setAttribute("aria-label", "Remove " + label);
      } else {
        row.setAttribute("data-state", "removing");
        row.classList.add("removing");
        button.parentNode.appendChild(
          el("input", { type: "hidden", name: "remove", value: row.getAttribute("data-source-id") })
        );
        status.textContent = "To be removed";
        button.textContent = "Undo";
        button.setAttribute("aria-label", "Undo removal of " + label);
      }
    }

    rows.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-remove]");
      if (!button) return;
      var row = button.closest("tr");
      if (row.getAttribute("data-state") === "adding") row.remove();
      else toggleRemoval(row, button);
      refresh();
    });

    function loadChoices() {
      var url = dialog.getAttribute("data-source-url");
      if (!url || !envSelect) return Promise.resolve();
      var environment = envSelect.value;
      dialog.querySelector("[data-picker-environment]").textContent = environment;
      return fetch(url + "?environment=" + encodeURIComponent(environment), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (sources) {
          var box = dialog.querySelector("[data-choices]");
          box.textContent = "";
          sources.forEach(function (s) {
            var label = el("label", { class: "check", "data-choice": String(s.id) });
            label.appendChild(
              el("input", {
                type: "checkbox",
                value: String(s.id),
                "data-label": s.label,
                "data-environment": s.environment,
              })
            );
            label.appendChild(document.createTextNode(" " + s.label));
            box.appendChild(label);
          });
        });
    }

    if (dialog) {
      dialog.addEventListener("portal:open", function () {
        loadChoices().then(refresh, refresh);
      });
      dialog.querySelector("[data-add-sources]").addEventListener("click", function () {
        all("[data-choice] input:checked", dialog).forEach(function (box) {
          addRow(box.value, box.getAttribute("data-label"), box.getAttribute("data-environment"));
        });
        refresh();
        dialog.close();
      });
    }

    if (envSelect) {
      envSelect.addEventListener("change", function () {
        var dropped = 0;
        all("tr[data-source-id]", rows).forEach(function (row) {
          if (row.getAttribute("data-environment") !== envSelect.value) {
            row.remove();
            dropped += 1;
          }
        });
        if (envNote) envNote.hidden = dropped === 0;
        refresh();
      });
    }
    refresh();
  }

  // -- Manage Keys ---------------------------------------------------------------------------

  function initGenerate() {
    var dialog = document.getElementById("generate-dialog");
    if (!dialog) return;
    var choose = dialog.querySelector('[data-step="choose"]');
    var generate = dialog.querySelector('[data-step="generate"]');
    if (!choose) return;
    var error = choose.querySelector("[data-choose-error]");

    dialog.addEventListener("portal:open", function () {
      choose.hidden = false;
      generate.hidden = true;
      error.hidden = true;
    });

    dialog.querySelector("[data-proceed]").addEventListener("click", function () {
      var missing = all("fieldset[data-choose]", choose).some(function (set) {
        return !set.querySelector("input:checked");
      });
      if (missing) {
        error.hidden = false;
        return;
      }
      var doomed = {};
      all("input[type=radio]:checked", choose).forEach(function (radio) {
        doomed[radio.value] = true;
      });
      all("li[data-key]", generate).forEach(function (item) {
        item.querySelector("[data-fate]").textContent = doomed[item.getAttribute("data-key")]
          ? "Existing Key ID to be deleted Immediately"
          : "Existing Key ID to be expired in 4 weeks";
        item.classList.toggle("doomed", !!doomed[item.getAttribute("data-key")]);
      });
      choose.hidden = true;
      generate.hidden = false;
    });
  }

  function initDelete() {
    var form = document.getElementById("delete-form");
    var confirm = document.getElementById("delete-confirm");
    if (!form || !confirm) return;
    var dialog = form.closest("dialog");
    var error = form.querySelector("[data-delete-error]");
    form.addEventListener("change", function () {
      error.hidden = true;
    });
    form.querySelector("[data-confirm-delete]").addEventListener("click", function () {
      var chosen = all("input[name=key]:checked", form);
      if (chosen.length === 0) {
        error.hidden = false;
        return;
      }
      var list = confirm.querySelector("[data-delete-list]");
      list.textContent = "";
      chosen.forEach(function (box) {
        list.appendChild(
          el("li", {}, box.getAttribute("data-key") + " (" + box.getAttribute("data-session") + ")")
        );
      });
      dialog.close();
      confirm.showModal();
    });
  }

  function initDownload() {
    var form = document.querySelector("form[data-download]");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      // The key file arrives as a download: the page stays, so close the window after.
      if (event.submitter && event.submitter.hasAttribute("formaction")) return;
      window.setTimeout(function () {
        var dialog = form.closest("dialog");
        if (dialog.open) dialog.close();
        form.reset();
      }, 300);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initCompany();
    initSelection();
    initViewIps();
    initSources();
    initGenerate();
    initDelete();
    initDownload();
    all("dialog[data-open-on-load]").forEach(openDialog);
  });
})();
