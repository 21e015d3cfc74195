/* The conversation drawn into one root element: `render(state)` makes the DOM show it.
 *
 * Everything is found within the root by `data-part` (never a document-wide id), so a page
 * may hold several views, or one inside a shadow root. The parts: title, end, privacy,
 * notice, error, log, messages, composer, input, send (static/respondent.html has them all).
 */

import { canSend } from "./conversation.js";

const PLACEHOLDER = {
  ready: "Type your answer…",
  waiting: "The interviewer is responding…",
  ended: "This conversation has ended.",
};
const PARTS = [
  "title",
  "end",
  "privacy",
  "notice",
  "error",
  "log",
  "messages",
  "composer",
  "input",
  "send",
];
const FOLLOW_MARGIN_PX = 120; // this close to the bottom, the page follows what is written

/** Rewritten only when it changes: a live region re-announces whatever is written to it. */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** @param ownDocument the view is the page: it also sets the document's title and language. */
export function createView(root, { onSend, onEnd, ownDocument = false }) {
  const doc = root.ownerDocument;
  const win = doc.defaultView;
  const ui = {};
  for (const name of PARTS) {
    ui[name] = root.querySelector(`[data-part="${name}"]`);
    if (!ui[name]) throw new Error(`the respondent view needs a [data-part="${name}"] element`);
  }
  const bubbles = new Map(); // message key -> {li, text, shown}
  let refocus = false;
  let errorsShown = 0;

  const submit = (event) => {
    event.preventDefault();
    onSend();
  };
  const keydown = (event) => {
    if (
      event.key === "Enter" &&
      !event.shiftKey &&
      !event.isComposing &&
      !event.altKey &&
      !event.ctrlKey &&
      !event.metaKey
    ) {
      event.preventDefault();
      onSend();
    }
  };
  ui.composer.addEventListener("submit", submit);
  ui.input.addEventListener("keydown", keydown);
  ui.end.addEventListener("click", onEnd);

  function nearBottom() {
    const page = doc.documentElement;
    return win.innerHeight + win.scrollY >= page.scrollHeight - FOLLOW_MARGIN_PX;
  }

  function bubble(message) {
    const li = doc.createElement("li");
    li.className = `message ${message.role}`;
    const who = doc.createElement("span");
    who.className = "who visually-hidden";
    who.textContent = message.role === "interviewer" ? "Interviewer: " : "You: ";
    const text = doc.createElement("div");
    text.className = "text";
    text.dir = "auto";
    li.append(who, text);
    return { li, text, shown: "" };
  }

  function showText(entry, text) {
    if (entry.shown === text) return false;
    // A growing turn gets its new words appended, not the whole text rewritten.
    const grows = entry.shown && text.startsWith(entry.shown);
    if (grows) entry.text.append(text.slice(entry.shown.length));
    else entry.text.textContent = text;
    entry.shown = text;
    return true;
  }

  function setData(li, name, value) {
    if (value && li.dataset[name] !== value) li.dataset[name] = value;
  }

  /** The messages list made to match `messages`; whether anything changed. */
  function renderMessages(messages) {
    let changed = false;
    const keep = new Set(messages.map((m) => m.key));
    for (const [key, entry] of bubbles) {
      if (!keep.has(key)) {
        entry.li.remove();
        bubbles.delete(key);
        changed = true;
      }
    }
    let previous = null;
    for (const message of messages) {
      let entry = bubbles.get(message.key);
      if (!entry) {
        entry = bubble(message);
        bubbles.set(message.key, entry);
      }
      const { li } = entry;
      changed = showText(entry, message.text) || changed;
      li.classList.toggle("pending", message.pending);
      li.classList.toggle("streaming", message.streaming);
      setData(li, "turnId", message.turnId);
      setData(li, "itemId", message.itemId);
      setData(li, "messageId", message.messageId);
      setData(li, "clientMessageId", message.clientMessageId);
      const expected = previous ? previous.nextSibling : ui.messages.firstChild;
      if (li !== expected) {
        ui.messages.insertBefore(li, expected);
        changed = true;
      }
      previous = li;
    }
    return changed;
  }

  function renderNotice(notice) {
    setText(ui.notice, notice ? notice.text : "");
    if (!notice) delete ui.notice.dataset.state;
    else if (ui.notice.dataset.state !== notice.kind) ui.notice.dataset.state = notice.kind;
  }

  function renderComposer(state, typing) {
    const enabled = canSend(state);
    const focused = root.getRootNode().activeElement === ui.input;
    if (!enabled && focused) refocus = true;
    ui.composer.hidden = !state.live || !typing;
    ui.input.disabled = !enabled;
    ui.send.disabled = !enabled;
    const placeholder = state.ended
      ? PLACEHOLDER.ended
      : enabled
        ? PLACEHOLDER.ready
        : PLACEHOLDER.waiting;
    if (ui.input.placeholder !== placeholder) ui.input.placeholder = placeholder;
    ui.end.disabled = state.ended || state.endRequested;
    ui.end.hidden = state.ended || !state.live;
    // A turn is announced once it is complete, not word by word.
    const busy = state.turnOpen ? "true" : "false";
    if (ui.log.getAttribute("aria-busy") !== busy) ui.log.setAttribute("aria-busy", busy);
    if (enabled && refocus) {
      refocus = false;
      ui.input.focus();
    }
  }

  return {
    /** `typing` false: the respondent talks (voice mode), the composer is put away. */
    render(state, { typing = true } = {}) {
      setText(ui.title, state.title);
      if (state.language && root.lang !== state.language) root.lang = state.language;
      if (root.dir !== state.direction) root.dir = state.direction;
      if (ownDocument) {
        const title = state.documentTitle;
        if (title !== null && doc.title !== title) doc.title = title;
        if (state.language && doc.documentElement.lang !== state.language) {
          doc.documentElement.lang = state.language;
        }
        if (doc.documentElement.dir !== state.direction) doc.documentElement.dir = state.direction;
      }
      ui.privacy.hidden = !state.anonymous;
      renderNotice(state.notice);
      if (state.errors !== errorsShown) {
        errorsShown = state.errors;
        ui.error.textContent = state.error; // an alert again, even if it says the same
      } else {
        setText(ui.error, state.error);
      }
      const stick = nearBottom();
      const changed = renderMessages(state.messages);
      if (changed && stick) win.scrollTo(0, doc.documentElement.scrollHeight);
      renderComposer(state, typing);
    },
    draft: () => ui.input.value,
    setDraft(value) {
      ui.input.value = value;
    },
    confirmEnd: () => win.confirm("End this conversation now? You won't be able to continue it."),
    destroy() {
      ui.composer.removeEventListener("submit", submit);
      ui.input.removeEventListener("keydown", keydown);
      ui.end.removeEventListener("click", onEnd);
    },
  };
}
