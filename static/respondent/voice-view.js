/* Voice mode drawn into the respondent view's root: `render(state)` makes the DOM show it.
 *
 * Its parts are found within the root by `data-part`, like view.js's; a root without
 * `[data-part="voice"]` has no voice mode (`present` is false and every call does nothing).
 * The parts: voice, voice-choice, choose-voice, choose-text, voice-permission, voice-explain,
 * voice-allow, voice-status, voice-retry, voice-live, talk, voice-level, caption-interviewer,
 * caption-respondent, to-text, to-voice (static/respondent.html has them all).
 *
 * Keyboard: every control is a button; holding Space anywhere but in a text field is
 * push-to-talk (the talk toggle's own Space press included, so it does not also toggle).
 */

import { composerShown, isLive, statusText, textAllowed, VOICE_TEXT, voiceAllowed } from "./voice.js";
import { smooth } from "./audio.js";

const PARTS = [
  "voice-choice",
  "choose-voice",
  "choose-text",
  "voice-permission",
  "voice-explain",
  "voice-allow",
  "voice-status",
  "voice-retry",
  "voice-live",
  "talk",
  "voice-level",
  "caption-interviewer",
  "caption-respondent",
  "to-text",
  "to-voice",
];
const TALKING = new Set(["listening", "thinking", "speaking"]);

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function show(element, shown) {
  if (element.hidden === shown) element.hidden = !shown;
}

function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "textarea" || tag === "input" || tag === "select" || target.isContentEditable;
}

export function createVoiceView(root) {
  const section = root.querySelector('[data-part="voice"]');
  if (!section) {
    const nothing = () => {};
    return { present: false, bind: nothing, render: nothing, level: nothing, destroy: nothing };
  }
  const doc = root.ownerDocument;
  const ui = {};
  for (const name of PARTS) {
    ui[name] = root.querySelector(`[data-part="${name}"]`);
    if (!ui[name]) throw new Error(`the voice view needs a [data-part="${name}"] element`);
  }
  let on = null;
  let state = null;
  let shownLevel = 0;
  let spaceDown = false;
  let refocus = false;
  let swallowClick = false; // the talk button's click that ends a Space hold is not a toggle
  const listeners = [];
  const listen = (target, type, fn, options) => {
    target.addEventListener(type, fn, options);
    listeners.push([target, type, fn, options]);
  };

  listen(ui["choose-voice"], "click", () => on && on.choose("voice"));
  listen(ui["choose-text"], "click", () => on && on.choose("text"));
  listen(ui["voice-allow"], "click", () => on && on.allow());
  listen(ui["voice-retry"], "click", () => on && on.retry());
  listen(ui["to-text"], "click", () => on && on.toText());
  listen(ui["to-voice"], "click", () => on && on.toVoice());
  listen(ui.talk, "click", (event) => {
    if (swallowClick) {
      swallowClick = false;
      event.preventDefault();
      return;
    }
    if (on) on.mic();
  });
  const spaceFor = (event) =>
    event.code === "Space" || event.key === " " || event.key === "Spacebar";
  listen(
    doc,
    "keydown",
    (event) => {
      if (!spaceFor(event) || !on || !state || !TALKING.has(state.phase)) return;
      const target = event.target;
      if (typing(target) || (target !== ui.talk && target && target.tagName === "BUTTON")) return;
      event.preventDefault();
      if (event.repeat || spaceDown) return;
      spaceDown = true;
      on.hold(true);
    },
    true,
  );
  listen(
    doc,
    "keyup",
    (event) => {
      if (!spaceFor(event) || !spaceDown) return;
      event.preventDefault();
      spaceDown = false;
      if (event.target === ui.talk) {
        // The button's own activation on this keyup, if the browser makes one, comes now.
        swallowClick = true;
        doc.defaultView.setTimeout(() => (swallowClick = false), 0);
      }
      if (on) on.hold(false);
    },
    true,
  );

  /** Where focus goes when the control that had it disappears. */
  function primary(next) {
    if (next.phase === "choosing") return ui["choose-voice"];
    if (next.phase === "explaining" || next.phase === "requesting") return ui["voice-allow"];
    if (next.phase === "refused" || next.phase === "failed") return ui["voice-retry"];
    if (isLive(next)) return ui.talk;
    const input = root.querySelector('[data-part="input"]');
    return input && !input.disabled ? input : ui["to-voice"];
  }

  return {
    present: true,
    bind(handlers) {
      on = handlers;
    },
    render(next) {
      const focused = root.getRootNode().activeElement;
      const hadFocus = Object.values(ui).includes(focused) ? focused : null;
      state = next;
      const { phase } = next;
      const live = isLive(next);
      show(section, voiceAllowed(next) && !next.ended);
      if (section.dataset.state !== phase) section.dataset.state = phase;
      section.dataset.mode = next.mode;
      show(ui["voice-choice"], phase === "choosing");
      show(ui["voice-permission"], phase === "explaining" || phase === "requesting");
      setText(ui["voice-explain"], VOICE_TEXT.explain);
      ui["voice-allow"].disabled = phase === "requesting";
      setText(ui["voice-status"], statusText(next));
      show(ui["voice-status"], phase !== "off" && phase !== "choosing" && phase !== "explaining");
      show(ui["voice-retry"], phase === "refused" || phase === "failed");
      show(ui["voice-live"], live);
      const pressed = String(next.micOn || next.holding);
      if (ui.talk.getAttribute("aria-pressed") !== pressed) ui.talk.setAttribute("aria-pressed", pressed);
      ui.talk.disabled = phase === "connecting";
      ui.talk.dataset.hearing = String(next.hearing);
      setText(ui["caption-interviewer"], live ? next.captions.interviewer : "");
      setText(ui["caption-respondent"], live ? next.captions.respondent : "");
      show(ui["to-text"], next.mode === "voice" && textAllowed(next) && !composerShown(next));
      const canVoice = phase === "off" && next.mode === "text" && !next.ended;
      show(ui["to-voice"], canVoice && voiceAllowed(next));
      if (!live) spaceDown = false;
      const gone = (el) => el.hidden || el.disabled || el.closest("[hidden]");
      if (hadFocus && gone(hadFocus)) refocus = true;
      else if (!hadFocus && focused && focused !== doc.body) refocus = false; // moved on
      if (refocus) {
        // The control that had focus went away: the one that takes its place gets it, once
        // it can (the talk control is disabled until the server is ready).
        const target = primary(next);
        if (target && !gone(target)) {
          refocus = false;
          target.focus();
        }
      }
    },
    /** The microphone's level 0..1 (many times a second): the meter's bar, scaled. */
    level(value) {
      shownLevel = smooth(shownLevel, value);
      ui["voice-level"].style.setProperty("--level", shownLevel.toFixed(3));
    },
    destroy() {
      for (const [target, type, fn, options] of listeners) {
        target.removeEventListener(type, fn, options);
      }
      on = null;
    },
  };
}
