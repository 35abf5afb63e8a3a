/**
 * Hugging Face `tokenizer.json` post-processors: one factory dispatching on the JSON `type`.
 * Only the single-sequence form matters here: the ids added before and after the text.
 */
import { UnsupportedError } from '@rotor/core';
import {
  asArray,
  asIndex,
  asString,
  child,
  JsonFields,
  type JsonPlace,
  jsonFail,
} from '../loaders/json-fields.js';

/** Ids wrapped around an encoded text when special tokens are added. */
export interface PostProcessor {
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
}

/** No special tokens (byte-level post-processing only trims offsets). */
export const NO_POST_PROCESSING: PostProcessor = { prefix: [], suffix: [] };

/** A `[token, id]` pair of BertProcessing/RobertaProcessing. */
function tokenPair(value: unknown, place: JsonPlace): number {
  const pair = asArray(value, place);
  if (pair.length !== 2) jsonFail(place, 'a pair [token, id]', `an array of ${pair.length}`);
  asString(pair[0], child(place, 0));
  return asIndex(pair[1], child(place, 1));
}

/** TemplateProcessing's `single` template with its `special_tokens` table. */
function template(fields: JsonFields): PostProcessor {
  const specialPlace = fields.at('special_tokens');
  const special = new JsonFields(fields.raw('special_tokens') ?? {}, specialPlace);
  const prefix: number[] = [];
  const suffix: number[] = [];
  let seenSequence = false;
  const single = fields.array('single');
  single.forEach((item, index) => {
    const at = child(fields.at('single'), index);
    const piece = new JsonFields(item, at);
    const token = piece.raw('SpecialToken');
    if (token !== undefined) {
      const name = new JsonFields(token, child(at, 'SpecialToken')).string('id');
      const entryPlace = child(specialPlace, name);
      const entry = special.raw(name);
      if (entry === undefined) jsonFail(entryPlace, `an entry for "${name}" used by the template`, 'nothing');
      const ids = new JsonFields(entry, entryPlace)
        .array('ids')
        .map((id, i) => asIndex(id, child(child(entryPlace, 'ids'), i)));
      (seenSequence ? suffix : prefix).push(...ids);
    } else if (piece.raw('Sequence') !== undefined) {
      seenSequence = true;
    } else {
      jsonFail(
        at,
        'a {"SpecialToken"} or {"Sequence"} item',
        Object.keys(piece.object).join(', ') || 'an empty object',
      );
    }
  });
  return { prefix, suffix };
}

/**
 * Builds the post-processor of a `post_processor` JSON value: TemplateProcessing,
 * BertProcessing, RobertaProcessing, ByteLevel (adds nothing) or a Sequence of them.
 *
 * @throws FormatError for malformed values; UnsupportedError for other types.
 */
export function createPostProcessor(value: unknown, place: JsonPlace): PostProcessor {
  const fields = new JsonFields(value, place);
  const type = fields.type();
  switch (type) {
    case 'TemplateProcessing':
      return template(fields);
    case 'BertProcessing':
    case 'RobertaProcessing': {
      const cls = tokenPair(fields.required('cls', 'a pair [token, id]'), fields.at('cls'));
      const sep = tokenPair(fields.required('sep', 'a pair [token, id]'), fields.at('sep'));
      return { prefix: [cls], suffix: [sep] };
    }
    case 'ByteLevel':
      return NO_POST_PROCESSING;
    case 'Sequence': {
      const stages = fields
        .array('processors')
        .map((item, i) => createPostProcessor(item, child(fields.at('processors'), i)));
      return {
        prefix: [...stages].reverse().flatMap((stage) => stage.prefix),
        suffix: stages.flatMap((stage) => stage.suffix),
      };
    }
    default:
      throw new UnsupportedError(
        `${place.source}: "${fields.at('type').path}": post-processor type "${type}" is not supported`,
        { details: { source: place.source, type } },
      );
  }
}
