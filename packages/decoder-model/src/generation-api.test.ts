/** The generation controls beyond llama2.c's: stop strings, KV-cache reuse, conversations, sliding context, chat templates. */
import { isRotorError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { describe, expect, it } from 'vitest';
import { renderChatTemplate } from './chat-template.js';
import { loadLanguageModelFile } from './node/index.js';

const bin = (backend = 'reference', maxSequenceLength?: number) =>
  loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
    tokenizerPath: fixturePath('stories260K/tok512.bin'),
    backend,
    maxSequenceLength,
  });
const greedy = { temperature: 0 };

describeWithFixtures(
  'generation API on stories260K',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin', 'stories260K/stories260K.gguf'],
  () => {
    it('stops at a stop string, trims it, and never shows part of it', async () => {
      const { generator, dispose } = await bin();
      const full = await generator.generateText('Once upon a time', { ...greedy, maxNewTokens: 60 });
      expect(full).toContain('Lily');
      const pieces: string[] = [];
      for await (const piece of generator.generate('Once upon a time', {
        ...greedy,
        maxNewTokens: 60,
        stop: ['nothing like this', 'Lily'],
      })) {
        pieces.push(piece.text);
      }
      expect(pieces.join('')).toBe(full.slice(0, full.indexOf('Lily')));
      expect(pieces.some((p) => p.includes('Li'))).toBe(false);
      expect(generator.lastStats?.stopReason).toBe('stop-string');
      // A stop string that never appears changes nothing.
      expect(
        await generator.generateText('Once upon a time', { ...greedy, maxNewTokens: 60, stop: 'zebra!' }),
      ).toBe(full);
      await expect(generator.generateText('x', { stop: [''] })).rejects.toThrow(
        /stop: expected non-empty strings/,
      );
      dispose();
    });

    it('reuses the KV cache for a shared prompt prefix, with the same result as a fresh prefill', async () => {
      const { generator, dispose } = await bin();
      const options = { temperature: 0.8, seed: 5, maxNewTokens: 30 };
      const fresh = await generator.generateText('Tom had a red ball', { ...options, reuseCache: false });
      expect(generator.lastStats?.cachedTokens).toBe(0);
      const reused = await generator.generateText('Tom had a red ball', options);
      expect(reused).toBe(fresh);
      const promptTokens = generator.lastStats!.promptTokens;
      expect(generator.lastStats?.cachedTokens).toBe(promptTokens - 1);
      const longer = await generator.generateText('Tom had a red ball and a blue car', options);
      expect(generator.lastStats?.cachedTokens).toBeGreaterThan(3);
      expect(
        await generator.generateText('Tom had a red ball and a blue car', { ...options, reuseCache: false }),
      ).toBe(longer);
      dispose();
    });

    it('continues a conversation without re-prefilling it, as a fresh run over the whole text would', async () => {
      const { generator, dispose } = await bin();
      const conversation = generator.createConversation();
      const first = await conversation.continueText('Once upon a time', { ...greedy, maxNewTokens: 12 });
      const before = conversation.tokens.length;
      const second = await conversation.continueText(' Then the dog', { ...greedy, maxNewTokens: 12 });
      expect(generator.lastStats?.cachedTokens).toBe(before - 1);
      expect(conversation.tokens.length).toBeGreaterThan(before);
      // The same tokens from scratch, without the cache.
      const ids = conversation.tokens.slice(0, conversation.tokens.length - 12);
      let replay = '';
      for await (const piece of generator.generateFromIds(ids, {
        ...greedy,
        maxNewTokens: 12,
        reuseCache: false,
      })) {
        replay += piece.text;
      }
      expect(replay).toBe(second);
      expect(first.length).toBeGreaterThan(0);
      dispose();
    });

    it('keeps the conversation usable after an abort mid-stream', async () => {
      const { generator, dispose } = await bin();
      const conversation = generator.createConversation();
      const controller = new AbortController();
      let count = 0;
      const error = await (async () => {
        for await (const _ of conversation.continue('Once upon a time', {
          ...greedy,
          signal: controller.signal,
        })) {
          if (++count === 4) controller.abort();
        }
      })().catch((e: unknown) => e);
      expect(isRotorError(error, 'ABORTED')).toBe(true);
      const next = await conversation.continueText(' The end.', { ...greedy, maxNewTokens: 5 });
      expect(next.length).toBeGreaterThan(0);
      dispose();
    });

    it('slides the context window when asked, and reports overflow by default', async () => {
      const { generator, dispose } = await bin('reference', 32);
      await expect(
        generator.generateText('Once upon a time', { ...greedy, maxNewTokens: 100 }),
      ).rejects.toThrow(/exceeds the context of 32 tokens/);
      const text = await generator.generateText('Once upon a time', {
        ...greedy,
        maxNewTokens: 100,
        contextOverflow: 'sliding',
      });
      expect(generator.lastStats).toMatchObject({ generatedTokens: 100, stopReason: 'max-tokens' });
      expect(generator.lastStats!.slides).toBeGreaterThanOrEqual(5);
      expect(text.length).toBeGreaterThan(100);
      const long = 'Once upon a time there was a cat. '.repeat(10);
      expect(
        await generator.generateText(long, { ...greedy, maxNewTokens: 5, contextOverflow: 'sliding' }),
      ).not.toBe('');
      await expect(generator.generateText('x', { contextOverflow: 'wrap' as never })).rejects.toThrow(
        /contextOverflow/,
      );
      dispose();
    });

    it('reproduces seeded sampling across calls and across the reference and WASM backends', async () => {
      const texts: string[] = [];
      for (const backend of ['reference', 'wasm', 'reference']) {
        const { generator, dispose } = await bin(backend);
        texts.push(
          await generator.generateText('Lily', {
            temperature: 1,
            topP: 0.9,
            minP: 0.05,
            repetitionPenalty: 1.1,
            seed: 99,
            maxNewTokens: 80,
          }),
        );
        dispose();
      }
      expect(texts[1]).toBe(texts[0]);
      expect(texts[2]).toBe(texts[0]);
    });

    it('chats through a chat template, reusing the cache across turns', async () => {
      const template =
        "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
      const model = await loadLanguageModelFile(fixturePath('stories260K/stories260K.gguf'), {
        backend: 'reference',
        chatTemplate: template,
      });
      const conversation = model.createConversation();
      const reply = await conversation.chatText('Tell me a story.', {
        ...greedy,
        maxNewTokens: 20,
        stop: '\n',
      });
      expect(conversation.tokens[0]).toBe(model.tokenizer.specialTokens.bos);
      expect(conversation.messages).toEqual([
        { role: 'user', content: 'Tell me a story.' },
        { role: 'assistant', content: reply },
      ]);
      await conversation.chatText('And then?', { ...greedy, maxNewTokens: 10 });
      expect(model.generator.lastStats!.cachedTokens).toBeGreaterThan(5);
      const plain = await bin();
      await expect(plain.createConversation().chatText('hi')).rejects.toThrow(/no chat template/);
      plain.dispose();
      model.dispose();
    });
  },
);

describe('renderChatTemplate', () => {
  it('renders a Jinja template with the messages and special tokens', () => {
    const template =
      '{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}';
    expect(
      renderChatTemplate(
        template,
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        { bosToken: '<s>', eosToken: '</s>' },
      ),
    ).toBe('<s><|system|>Be brief.</s><|user|>Hi</s><|assistant|>');
  });

  it('reports templates that do not parse or render as typed errors', () => {
    expect(() => renderChatTemplate('{% for %}', [])).toThrow(/chat template: cannot parse/);
    expect(() => renderChatTemplate("{{ raise_exception('no system role') }}", [])).toThrow(/chat template/);
  });
});
