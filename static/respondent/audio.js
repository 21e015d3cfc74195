/* Voice mode's sample arithmetic: resampling, 20 ms PCM frames, levels. No DOM, no timers.
 *
 * Shared by the page (framing what the microphone gives) and the AudioWorklet
 * (respondent/voice-worklet.js, which plays the interviewer's PCM at the context's rate),
 * and tested in node (tests/static/audio.test.mjs).
 */

export const INPUT_RATE = 16000; // what the server takes: 16-bit LE mono PCM at 16 kHz
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (INPUT_RATE * FRAME_MS) / 1000; // 320
export const FRAME_BYTES = FRAME_SAMPLES * 2; // 640: the only size the server accepts
const ZERO_CROSSINGS = 8; // kernel half width in sinc zero crossings: -78 dB from 10 kHz (48 kHz in)
const PASSBAND = 0.92; // cutoff as a share of the lower Nyquist: flat to 3.4 kHz, -3.5 dB at 7 kHz
const MAX_PHASES = 2048; // rate pairs with more phases compute their taps per sample instead

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** A windowed-sinc low-pass at `cutoff` cycles per input sample, `d` samples off centre. */
function tap(d, cutoff, half) {
  if (Math.abs(d) >= half) return 0;
  const x = 2 * cutoff * d;
  const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
  const window = 0.42 + 0.5 * Math.cos((Math.PI * d) / half) + 0.08 * Math.cos((2 * Math.PI * d) / half);
  return sinc * window; // Blackman
}

/** Streaming band-limited resampling between two integer rates (any ratio, either way).
 *
 * Each output sample is a weighted sum of the input around its instant, through a low-pass
 * below the lower of the two Nyquist frequencies, so going down from 48 or 44.1 kHz
 * averages what lies between output samples instead of dropping it (no aliasing), and
 * going up interpolates smoothly. The weights of each fractional position are normalised
 * to 1, so a constant stays that constant. `push` returns what the input so far allows;
 * `end` pads the tail with silence and returns the rest. */
export class Resampler {
  constructor(fromRate, toRate) {
    if (!(fromRate > 0 && toRate > 0) || fromRate % 1 || toRate % 1) {
      throw new RangeError(`sample rates must be positive integers: ${fromRate}, ${toRate}`);
    }
    this.from = fromRate;
    this.to = toRate;
    this.same = fromRate === toRate;
    this.cutoff = (0.5 * PASSBAND * Math.min(fromRate, toRate)) / fromRate;
    this.half = Math.ceil(ZERO_CROSSINGS / (2 * this.cutoff)); // in input samples
    // Input instant of the next output sample: index + rem / to (exact integers, no drift).
    this.index = 0;
    this.rem = 0;
    const g = gcd(fromRate, toRate);
    this.phases = toRate / g;
    this.step = fromRate / g; // rem advances by this, in units of 1 / phases
    this.table = this.phases <= MAX_PHASES ? this.buildTable() : null;
    // Input from absolute index `start` on; earlier samples count as silence.
    this.buf = new Float32Array(0);
    this.start = 0;
  }

  buildTable() {
    const width = 2 * this.half;
    const table = new Float32Array(this.phases * width);
    for (let p = 0; p < this.phases; p += 1) this.fill(table, p * width, p / this.phases);
    return table;
  }

  /** Taps for the output at fraction `frac` past an input sample, normalised to sum 1. */
  fill(into, at, frac) {
    const width = 2 * this.half;
    let sum = 0;
    for (let j = 0; j < width; j += 1) {
      const w = tap(frac + this.half - 1 - j, this.cutoff, this.half);
      into[at + j] = w;
      sum += w;
    }
    for (let j = 0; j < width; j += 1) into[at + j] /= sum;
  }

  push(input) {
    if (this.same) return Float32Array.from(input);
    const joined = new Float32Array(this.buf.length + input.length);
    joined.set(this.buf);
    joined.set(input, this.buf.length);
    this.buf = joined;
    return this.drain();
  }

  end() {
    if (this.same) return new Float32Array(0);
    // `half` samples of silence let every output instant before the input's end be computed.
    return this.push(new Float32Array(this.half));
  }

  drain() {
    const width = 2 * this.half;
    const scratch = this.table ? null : new Float32Array(width);
    const end = this.start + this.buf.length; // one past the last input sample
    // Outputs whose last tap (index + half) is within the input: t < end - half.
    const room = (end - this.half - this.index) * this.phases - this.rem;
    const count = room > 0 ? Math.ceil(room / this.step) : 0;
    const out = new Float32Array(count);
    const { buf, start } = this;
    for (let n = 0; n < count; n += 1) {
      const first = this.index - this.half + 1; // taps cover first .. index + half
      let taps = this.table;
      let at = this.rem * width;
      if (!taps) {
        this.fill(scratch, 0, this.rem / this.phases);
        taps = scratch;
        at = 0;
      }
      let acc = 0;
      for (let j = 0; j < width; j += 1) {
        const k = first + j - start;
        if (k >= 0) acc += buf[k] * taps[at + j];
      }
      out[n] = acc;
      this.rem += this.step;
      if (this.rem >= this.phases) {
        this.index += Math.floor(this.rem / this.phases);
        this.rem %= this.phases;
      }
    }
    // Keep only what the next output's taps still reach.
    const needed = this.index - this.half + 1 - start;
    if (needed > 0) {
      this.buf = this.buf.slice(Math.min(needed, this.buf.length));
      this.start += Math.min(needed, end - start);
    }
    return out;
  }
}

/** Float samples (-1..1) as 16-bit integers, clipped. */
export function toInt16(value) {
  const clipped = Math.max(-1, Math.min(1, value));
  return Math.round(clipped < 0 ? clipped * 32768 : clipped * 32767);
}

/** Little-endian 16-bit PCM bytes (any even length) as floats -1..1. */
export function pcmToFloat32(bytes) {
  const view = new DataView(bytes.buffer || bytes, bytes.byteOffset || 0, bytes.byteLength);
  const out = new Float32Array(Math.floor(view.byteLength / 2));
  for (let i = 0; i < out.length; i += 1) out[i] = view.getInt16(2 * i, true) / 32768;
  return out;
}

/** The microphone's float blocks at the context's rate in, exactly-640-byte frames out:
 * 20 ms of 16-bit little-endian mono PCM at 16 kHz each, as ArrayBuffers. */
export class Framer {
  constructor(contextRate) {
    this.resampler = new Resampler(contextRate, INPUT_RATE);
    this.pending = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
  }

  push(block) {
    const frames = [];
    for (const sample of this.resampler.push(block)) {
      this.pending[this.filled] = toInt16(sample);
      this.filled += 1;
      if (this.filled === FRAME_SAMPLES) {
        frames.push(this.frame());
        this.filled = 0;
      }
    }
    return frames;
  }

  frame() {
    const bytes = new ArrayBuffer(FRAME_BYTES);
    const view = new DataView(bytes);
    for (let i = 0; i < FRAME_SAMPLES; i += 1) view.setInt16(2 * i, this.pending[i], true);
    return bytes;
  }

  /** Drop a partial frame (the microphone was paused: what follows is not continuous). */
  reset() {
    this.filled = 0;
  }
}

/** Root mean square of a block of float samples. */
export function rms(samples) {
  if (!samples.length) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

const FLOOR_DB = -60; // quieter than this shows as nothing: a room's hiss

/** A level meter's reading 0..1 for an RMS value: on a decibel scale from -60 dBFS (0) to
 * full scale (1), since loudness is heard logarithmically. */
export function level(value) {
  if (!(value > 0)) return 0;
  const db = 20 * Math.log10(value);
  return Math.max(0, Math.min(1, (db - FLOOR_DB) / -FLOOR_DB));
}

/** The meter's next reading: up at once, down by at most `fall` per block (no flicker). */
export function smooth(previous, next, fall = 0.08) {
  return next >= previous ? next : Math.max(next, previous - fall);
}
