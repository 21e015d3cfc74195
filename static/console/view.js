// The console page drawn from its state: the sessions, the answers so far, the open session.
// Drawn whole on each (coalesced) change: the lists are short, and a redraw cannot drift.

import * as state from "./state.js";

const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function draw(view, actions) {
  drawSessions(view, actions);
  drawDistributions(view);
  drawSession(view, actions);
}

function sessionButton(view, actions, row) {
  const current = view.selected && view.selected.id === row.id;
  const parts = [row.id, state.progressLabel(row)];
  if (row.writing) parts.push("interviewer writing");
  if (row.takenOver) parts.push("taken over");
  if (row.isTest) parts.push("test");
  if (row.status !== "in_progress") parts.push(row.status);
  return el(
    "li",
    { dataset: { sessionId: row.id, status: row.status } },
    el("button", { type: "button", "aria-current": current ? "true" : null, on: { click: () => actions.openSession(row.id) }, text: parts.join(" · ") }),
  );
}

function drawSessions(view, actions) {
  const live = state.liveSessions(view.sessions);
  $("live-sessions").replaceChildren(...live.map((row) => sessionButton(view, actions, row)));
  $("no-live").hidden = live.length > 0;
  $("finished-sessions").replaceChildren(...state.finishedSessions(view.sessions).map((row) => sessionButton(view, actions, row)));
}

function drawDistributions(view) {
  const rows = view.distributions.map((item) =>
    el(
      "div",
      { class: "distribution", dataset: { itemId: item.itemId } },
      el("h3", { text: `${item.itemId}. ${item.text}` }),
      el("p", { class: "hint", text: `${item.answered} of ${item.sessions} sessions answered${item.mean !== null && item.mean !== undefined ? ` · mean ${item.mean.toFixed(1)}` : ""}` }),
      item.bars.length
        ? el(
            "ul",
            { "aria-label": `Answers to ${item.itemId}` },
            ...item.bars.map((bar) =>
              el(
                "li",
                {},
                el("span", { text: `${bar.value}: ${bar.count} ` }),
                el("meter", { min: "0", max: "1", value: String(bar.share), "aria-label": `${bar.value}, ${Math.round(bar.share * 100)}%` }),
              ),
            ),
          )
        : null,
    ),
  );
  $("distributions").replaceChildren(...rows);
}

function drawSession(view, actions) {
  const selected = view.selected;
  $("session").hidden = !selected;
  if (!selected) return;
  const row = view.sessions.get(selected.id);
  const live = !selected.transcript.ended && (!row || row.status === "in_progress");
  $("session-title").textContent = `Session ${selected.id}`;
  $("session-state").textContent = live ? "Live" : `Finished (${row ? row.status : "ended"})`;
  drawTranscript(selected, actions);
  drawCoverage(view, selected);
  drawFiles(selected);
  $("steer-form").hidden = !live;
  $("takeover").hidden = !live || selected.transcript.takenOver;
  $("handback").hidden = !live || !selected.transcript.takenOver;
  $("researcher-form").hidden = !live || !selected.transcript.takenOver;
  drawNoteTargets(selected);
  const steering = selected.transcript.steering.map((s) => el("li", { text: `${s.mode === "now" ? "Now" : "Next turn"}: ${s.instruction} — ${s.status}` }));
  $("steering").replaceChildren(...steering);
  const general = state.notesOn(selected.transcript, null).map(noteItem);
  $("session-notes").replaceChildren(...general);
}

function noteItem(note) {
  const label = note.kind === "bookmark" ? "Bookmark" : "Note";
  return el("li", { class: "note", dataset: { noteId: note.id, kind: note.kind } }, `${label}${note.body ? `: ${note.body}` : ""}`);
}

function drawTranscript(selected, actions) {
  const box = $("transcript");
  const parent = box.parentElement;
  const atEnd = parent.scrollTop + parent.clientHeight >= parent.scrollHeight - 8;
  const items = selected.transcript.messages.map((message) => {
    const who = message.role === "respondent" ? "Respondent" : message.author === "researcher" ? "You (researcher)" : "Interviewer";
    const li = el(
      "li",
      {
        class: `message ${message.role}`,
        dataset: { role: message.role, author: message.author, streaming: String(message.streaming), ...(message.turnId ? { turnId: message.turnId } : {}), ...(message.messageId ? { messageId: message.messageId } : {}) },
      },
      el("span", { class: "who", text: who }),
      el("span", { class: "text", text: message.content }),
    );
    if (message.messageId) {
      li.append(el("button", { type: "button", class: "bookmark", "aria-label": `Bookmark this ${message.role} message`, text: "Bookmark", on: { click: () => actions.addNote("bookmark", message.messageId, "") } }));
      const notes = state.notesOn(selected.transcript, message.messageId);
      if (notes.length) li.append(el("ul", { class: "notes", "aria-label": "Notes on this message" }, ...notes.map(noteItem)));
    }
    return li;
  });
  box.replaceChildren(...items);
  if (atEnd) parent.scrollTop = parent.scrollHeight;
}

function drawCoverage(view, selected) {
  const coverage = selected.coverage;
  if (!coverage) {
    $("coverage-summary").textContent = "";
    $("coverage").replaceChildren();
    return;
  }
  $("coverage-summary").textContent = `${coverage.answered} of ${coverage.total} items answered`;
  const texts = new Map(view.distributions.map((d) => [d.itemId, d.text]));
  const items = coverage.items.map((item) =>
    el(
      "li",
      { dataset: { itemId: item.itemId, status: item.status } },
      `${item.itemId}${texts.has(item.itemId) ? ` ${texts.get(item.itemId)}` : ""}: ${item.status.replace("_", " ")}${item.value !== null && item.value !== undefined ? ` (${item.value})` : ""}`,
    ),
  );
  $("coverage").replaceChildren(...items);
}

function drawFiles(selected) {
  const links = selected.files.map((file) => el("li", {}, el("a", { href: file.url, download: file.name || null, text: file.name || file.kind })));
  $("files").replaceChildren(...links);
}

function drawNoteTargets(selected) {
  const select = $("note-target");
  const chosen = select.value;
  const options = [el("option", { value: "", text: "The whole session" })];
  for (const message of selected.transcript.messages) {
    if (!message.messageId) continue;
    const who = message.role === "respondent" ? "Respondent" : "Interviewer";
    const excerpt = message.content.length > 60 ? `${message.content.slice(0, 60)}…` : message.content;
    options.push(el("option", { value: message.messageId, text: `${who}: ${excerpt}` }));
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

