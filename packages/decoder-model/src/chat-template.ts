/**
 * Chat templates: the Jinja templates models ship (GGUF `tokenizer.chat_template`, Hugging Face
 * `tokenizer_config.json` `chat_template`) rendered with `@huggingface/jinja`, the renderer
 * transformers.js uses, so templates behave as they do in Python.
 */

import { Template } from '@huggingface/jinja';
import { InvalidArgumentError } from '@rotor/core';

/** One chat message. */
export interface ChatMessage {
  /** `system`, `user`, `assistant` (or any role the template knows). */
  readonly role: string;
  readonly content: string;
}

/** Variables passed to the template besides the messages. */
export interface ChatTemplateOptions {
  /** Text of the BOS token (`bos_token`). */
  bosToken?: string;
  /** Text of the EOS token (`eos_token`). */
  eosToken?: string;
  /** Ask the template to open the assistant's turn (`add_generation_prompt`). Default true. */
  addGenerationPrompt?: boolean;
}

/** Renders `messages` with a Jinja chat template. A template that does not parse or render is an `InvalidArgumentError`. */
export function renderChatTemplate(
  template: string,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (error) {
    throw new InvalidArgumentError(`chat template: cannot parse (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    return compiled.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      bos_token: options.bosToken ?? '',
      eos_token: options.eosToken ?? '',
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (error) {
    throw new InvalidArgumentError(`chat template: cannot render (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * The chat template of a Hugging Face `tokenizer_config.json`: its `chat_template` string, or the
 * `default` entry of a list of named templates; undefined when it has none.
 */
export function chatTemplateFromTokenizerConfig(config: unknown): string | undefined {
  const value = (config as { chat_template?: unknown } | null)?.chat_template;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const entry = value.find((t) => t?.name === 'default') ?? value[0];
    return typeof entry?.template === 'string' ? entry.template : undefined;
  }
  return undefined;
}
