/**
 * Text that never repeats, so no tokenizer cache can memorise it: every call returns a new slice.
 * Prose and multilingual text are generated from a seed, code is the repository's own sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A named source of distinct texts of about `bytes` UTF-16 code units each. */
export interface Corpus {
  name: string;
  /** The `index`-th slice; different indices never overlap. */
  slice(index: number, bytes: number): string;
}

function random(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

const ENGLISH =
  'the of and to a in is that it was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know get through back much go good new write our me man too any day same right look think also around another came come work three word must because does part even place well such here take why things help put years different away again off went old number great tell men say small every found still between name should home big give air line set own under read last never us left end along while might next sound below saw something thought both few those always looked show large often together asked house world going want school important until form food keep children feet land side without boy once animals life enough took sometimes four head above kind began almost live page got earth need far hand high year mother light parts country father let night following picture being study second eyes soon times story boys since white days ever paper hard near sentence better best across during today others however sure means knew try told young miles sun ways thing whole hear example heard several change answer room sea against top turned learn point city play toward five using himself usually'.split(
    ' ',
  );
const SYLLABLES =
  'ka ri to mel an vor is ul pe sa dri gon ther el quo bra ne lis tum ov ach fen yr wix'.split(' ');

function pseudoWord(next: () => number, syllables: string[]): string {
  let word = '';
  for (let i = 1 + (next() % 3); i >= 0; i--) word += syllables[next() % syllables.length];
  return word;
}

/** Sentences with a Zipf-like mix: common words, rarer invented words, numbers, punctuation. */
function generated(name: string, seedBase: number, word: (next: () => number) => string, stop = '.'): Corpus {
  return {
    name,
    slice(index, bytes) {
      const next = random(seedBase + 7919 * (index + 1));
      const parts: string[] = [];
      let length = 0;
      while (length < bytes) {
        const count = 5 + (next() % 14);
        const words = Array.from({ length: count }, () =>
          next() % 23 === 0 ? String(next() % 100000) : word(next),
        );
        if (next() % 6 === 0) words.splice(1 + (next() % (count - 1)), 0, ',');
        const end = next() % 9 === 0 ? '?' : next() % 11 === 0 ? '!' : stop;
        const sentence = `${words.join(' ').replace(/ ,/g, ',')}${end}${next() % 6 === 0 ? '\n\n' : ' '}`;
        parts.push(sentence.charAt(0).toUpperCase() + sentence.slice(1));
        length += sentence.length;
      }
      return parts.join('').slice(0, bytes);
    },
  };
}

/** English prose: 85% of words from the most common English words, the rest invented. */
export const prose = generated('English prose', 1, (next) =>
  next() % 100 < 85 ? ENGLISH[next() % ENGLISH.length] : pseudoWord(next, SYLLABLES),
);

const LANGUAGES: { words: string[]; joiner: string }[] = [
  {
    words: 'der die und ist nicht mit sich auf für Straße Mädchen über können früh grün'.split(' '),
    joiner: ' ',
  },
  { words: 'le la les est une pour déjà très où être français garçon élève noël'.split(' '), joiner: ' ' },
  { words: 'и в не на что быть он как это мы они говорить человек время жизнь'.split(' '), joiner: ' ' },
  { words: 'και το να είναι με για από που στο άνθρωπος χρόνος ζωή θάλασσα'.split(' '), joiner: ' ' },
  { words: '的 一 是 不 了 人 我 在 有 他 这 中 大 来 上 国 个 到 说 们 时 语 言'.split(' '), joiner: '' },
  { words: 'の に は を た が で て と し れ さ ある いる 日本 言葉 時間 学校 東京'.split(' '), joiner: '' },
  { words: 'في من على إلى أن هذا كان التي الذي ما لا مع اللغة العربية'.split(' '), joiner: ' ' },
  { words: 'है के में की और का को से एक यह भाषा हिंदी समय लोग'.split(' '), joiner: ' ' },
  { words: '이 그 저 것 수 있다 하다 사람 우리 한국어 시간 학교 사랑'.split(' '), joiner: ' ' },
  { words: 'niño año señor está también canción mañana corazón'.split(' '), joiner: ' ' },
];
const EMOJI = ['🎉', '👍', '😀', '🚀', '❤️', '🌍', '👩‍💻', '🇯🇵'];

/** Multilingual text: runs of words in ten scripts and languages, invented words, emoji. */
export const multilingual = generated('multilingual', 2, (next) => {
  const roll = next() % 100;
  if (roll < 5) return EMOJI[next() % EMOJI.length];
  const language = LANGUAGES[next() % LANGUAGES.length];
  const words = Array.from({ length: 1 + (next() % 3) }, () =>
    next() % 5 === 0 ? pseudoWord(next, language.words) : language.words[next() % language.words.length],
  );
  return words.join(language.joiner);
});

function sources(directory: string, out: string[]): string[] {
  // Entry types come with the listing: a build's temporary file may vanish before a later stat.
  const entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'generated') continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (/\.(ts|wat)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** The file's text, or nothing when it vanished since it was listed. */
function readSource(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return '';
    throw error;
  }
}

/** The repository's own TypeScript, concatenated in path order; slices are consecutive, never reused. */
export function code(repositoryRoot: string): Corpus & { bytes: number } {
  const text = ['packages', 'apps', 'tools']
    .flatMap((folder) => sources(join(repositoryRoot, folder), []))
    .map(readSource)
    .join('\n');
  return {
    name: 'code',
    bytes: text.length,
    slice: (index, bytes) => {
      if ((index + 1) * bytes > text.length)
        throw new RangeError(`code corpus: slice ${index} of ${bytes} exceeds its ${text.length} characters`);
      return text.slice(index * bytes, (index + 1) * bytes);
    },
  };
}

/** The corpus named `name` (a {@link Corpus.name}). */
export function corpusNamed(name: string, repositoryRoot: string): Corpus {
  if (name === prose.name) return prose;
  if (name === multilingual.name) return multilingual;
  if (name === 'code') return code(repositoryRoot);
  throw new Error(`unknown corpus "${name}"`);
}
