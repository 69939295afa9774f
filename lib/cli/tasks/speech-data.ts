/**
 * The speech tasks' data: the words "zero" to "nine" spoken by Debian's espeak-ng with many
 * voices (an English accent plus a voice variant: its timbre, pitch range and formants), at
 * seeded random speeds and pitches. The WAV files (espeak-ng's own 22,050 Hz, 16-bit mono) are
 * synthesized once into a cache directory and read from there afterwards; every file's name
 * holds all of its parameters, so a plan (which words, voices, speeds, pitches) that the seed
 * fixes always finds the same files. Clips are resampled to 8 kHz in JS and trimmed of their
 * leading and trailing silence.
 *
 * The split is by voice variant: the held-out variants (HELD_OUT) are never heard in training.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mulberry32 } from '../../random';
import { UsageError } from '../args';
import { readWav, resample, trimSilence } from './wav';

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
export const SAMPLE_RATE = 8000;

/** espeak-ng's English accents (espeak-ng 1.51 and 1.52 have all of them). */
export const ACCENTS = ['en-us', 'en', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'];

/** Voice variants (file names under espeak-ng-data/voices/!v) never used for training. */
export const HELD_OUT = ['f2', 'm3', 'm7', 'klatt3', 'croak', 'f5', 'Andrea', 'benjamin', 'iven2', 'steph3', 'robert', 'Lee'];

/** Variants left out altogether: a test voice ('fast'), a name with a space, whispers (no voicing). */
const EXCLUDED = new Set(['fast', 'Mr serious', 'whisper', 'whisperf']);

/** Takes (speed and pitch draws) per variant and word that a plan can ask for. */
export const MAX_TAKES = 3;

export interface Utterance { word: number; variant: string; accent: string; speed: number; pitch: number }
export interface Clip extends Utterance { samples: Float32Array }

export interface Espeak { version: string; dataDir: string; variants: string[] }

let espeakInfo: Espeak | null = null;

/** espeak-ng's version and installed voice variants; a UsageError that says how to install it when it is missing. */
export function espeak(): Espeak {
  if (espeakInfo) return espeakInfo;
  const r = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new UsageError("the speech tasks need Debian's espeak-ng, which is not installed: run apt-get install espeak-ng (scripts/setup.sh installs it)");
  }
  const m = /text-to-speech:\s*(\S+)\s+Data at:\s*(.+)$/m.exec(r.stdout);
  if (!m) throw new UsageError(`cannot read espeak-ng --version: ${r.stdout.trim()}`);
  const dataDir = m[2].trim();
  let variants: string[] = [];
  try {
    variants = fs.readdirSync(path.join(dataDir, 'voices', '!v')).filter((v) => !EXCLUDED.has(v)).sort();
  } catch {
    throw new UsageError(`espeak-ng's voice variants are not in ${dataDir}/voices/!v`);
  }
  espeakInfo = { version: m[1], dataDir, variants };
  return espeakInfo;
}

/** Where synthesized audio is kept: $TORCHRNN_CACHE_DIR, else $XDG_CACHE_HOME/torchrnn, else ~/.cache/torchrnn. */
export function cacheDir(): string {
  const root = process.env.TORCHRNN_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'torchrnn');
  return path.join(root, 'speech', `espeak-ng-${espeak().version}`);
}

/** The training and held-out variants that this espeak-ng has. */
export function voiceSplit(): { train: string[]; test: string[] } {
  const all = espeak().variants;
  return { train: all.filter((v) => !HELD_OUT.includes(v)), test: HELD_OUT.filter((v) => all.includes(v)) };
}

/**
 * Every word of every variant, `takes` times, each with a seeded accent, speed (120–219 words
 * per minute) and pitch (20–79). The draws do not depend on `takes`: a plan with fewer takes is
 * part of one with more.
 */
export function plan(variants: string[], takes: number, seed: number): Utterance[] {
  const out: Utterance[] = [];
  for (const variant of variants) {
    let h = seed >>> 0;
    for (const c of variant) h = Math.imul(h ^ c.charCodeAt(0), 0x9e3779b1) >>> 0;
    const rand = mulberry32(h);
    for (let take = 0; take < MAX_TAKES; take++) {
      for (let word = 0; word < 10; word++) {
        const u = { word, variant, accent: ACCENTS[Math.floor(rand() * ACCENTS.length)], speed: 120 + Math.floor(rand() * 100), pitch: 20 + Math.floor(rand() * 60) };
        if (take < takes) out.push(u);
      }
    }
  }
  return out;
}

/** The voice as espeak-ng's -v option spells it. */
export const voiceName = (u: Pick<Utterance, 'variant' | 'accent'>): string => `${u.accent}+${u.variant}`;

export function wavPath(u: Utterance, text = DIGIT_WORDS[u.word]): string {
  let name = text.replace(/[^A-Za-z0-9]+/g, '_');
  // long or non-ASCII texts: a readable start and a hash of the whole
  if (name.length > 40 || name !== text) name = `${name.slice(0, 24)}-${createHash('sha1').update(text).digest('hex').slice(0, 12)}`;
  return path.join(cacheDir(), u.variant, `${u.accent}-s${u.speed}-p${u.pitch}-${name}.wav`);
}

/**
 * Synthesizes what the cache lacks: all at once through `xargs -P` (one espeak-ng process per
 * utterance, as many at a time as there are CPUs), into a temporary folder, then renamed into
 * place, so that an interrupted run never leaves a partial file.
 */
export function synthesize(utts: { u: Utterance; text: string }[]): void {
  const todo = utts.filter(({ u, text }) => !fs.existsSync(wavPath(u, text)));
  if (todo.length === 0) return;
  const tmp = path.join(cacheDir(), `.tmp-${process.pid}`);
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const args: string[] = [];
    todo.forEach(({ u, text }, i) => args.push('-v', voiceName(u), '-s', String(u.speed), '-p', String(u.pitch), '-w', path.join(tmp, `${i}.wav`), text));
    const r = spawnSync('xargs', ['-0', '-n', '9', '-P', String(Math.max(1, os.cpus().length)), 'espeak-ng'], { input: args.join('\0'), encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.error) throw new UsageError(`cannot run xargs espeak-ng: ${r.error.message}`);
    todo.forEach(({ u, text }, i) => {
      const file = path.join(tmp, `${i}.wav`);
      if (!fs.existsSync(file)) throw new UsageError(`espeak-ng did not write ${voiceName(u)} saying "${text}": ${r.stderr.trim().split('\n')[0] ?? ''}`);
      fs.mkdirSync(path.dirname(wavPath(u, text)), { recursive: true });
      fs.renameSync(file, wavPath(u, text));
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A synthesized utterance at 8 kHz without its silent ends (50 ms of them kept). */
export function loadClip(u: Utterance, text = DIGIT_WORDS[u.word]): Float32Array {
  const audio = readWav(wavPath(u, text));
  return trimSilence(resample(audio.samples, audio.sampleRate, SAMPLE_RATE), 0.01, SAMPLE_RATE / 20);
}

/** The clips of a plan, synthesized first where the cache lacks them. */
export function clips(utts: Utterance[]): Clip[] {
  synthesize(utts.map((u) => ({ u, text: DIGIT_WORDS[u.word] })));
  return utts.map((u) => ({ ...u, samples: loadClip(u) }));
}

/** Any text spoken by one voice (predict's and sample's --voice), at 8 kHz, silent ends trimmed. */
export function speak(text: string, voice: string, speed = 160, pitch = 50): Float32Array {
  const [accent, variant = 'm1'] = voice.split('+');
  const u: Utterance = { word: 0, variant, accent, speed, pitch };
  if (!/^[\w-]+$/.test(accent) || !espeak().variants.includes(variant)) throw new UsageError(`--voice must be accent+variant with an installed variant (e.g. en-us+${HELD_OUT[0]}), not "${voice}"`);
  synthesize([{ u, text }]);
  return loadClip(u, text);
}
