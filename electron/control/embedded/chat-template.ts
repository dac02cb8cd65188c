import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  GeneralChatWrapper,
  readGgufFileInfo,
  resolveChatWrapper,
  SpecialTokensText,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaModel,
} from 'node-llama-cpp';

// Markers made of private-use characters take the place of the request's text while the chat
// wrapper renders, so they cannot be mistaken for the wrapper's own text.
const SYSTEM_MARK = '\uE000system\uE001';
const PROMPT_MARK = '\uE000prompt\uE001';

const templates = new Map<string, { key: string; template: string }>();

/**
 * Describes, as an Ollama Go template over `.System` and `.Prompt`, the prompt format that
 * `/api/generate` and `/api/chat` apply to the model at `path`. The format comes from the chat
 * wrapper node-llama-cpp picks for the model, the one `LlamaChat` uses by default: a wrapper
 * matching the GGUF's `tokenizer.chat_template`, that Jinja template itself, or a guess from the
 * file name and metadata. Pass the loaded model when there is one, so the tokenizer takes part in
 * the choice exactly as in generation. Results without a loaded model are cached per path, size
 * and modification time.
 */
export async function describeChatTemplate(path: string, loadedModel?: LlamaModel): Promise<string> {
  if (loadedModel) {
    const tokens = loadedModel.tokens;
    return renderTemplate(resolveChatWrapper(loadedModel), {
      BOS: tokens.bosString ?? undefined,
      EOS: tokens.eosString ?? undefined,
      EOT: tokens.eotString ?? undefined,
    });
  }

  const info = await stat(path);
  const key = `${info.size}:${info.mtimeMs}`;
  const hit = templates.get(path);
  if (hit && hit.key === key) return hit.template;

  const fileInfo = await readGgufFileInfo(path, { readTensorInfo: false, logWarnings: false });
  const ggml = ((fileInfo.metadata as { tokenizer?: { ggml?: Record<string, unknown> } }).tokenizer?.ggml ?? {}) as {
    tokens?: readonly string[];
    bos_token_id?: number;
    eos_token_id?: number;
    eot_token_id?: number;
  };
  const tokenText = (id: number | undefined) => (id === undefined ? undefined : ggml.tokens?.[id]);
  // NOTE: without a loaded model there is no tokenizer, which a few wrappers (Llama 3.1,
  // Llama 3.2, Qwen) and Jinja-equivalence checks consult, so a rare model may get another wrapper.
  const wrapper =
    resolveChatWrapper({
      bosString: tokenText(ggml.bos_token_id) ?? null,
      filename: basename(path),
      fileInfo,
      warningLogs: false,
    }) ?? new GeneralChatWrapper();
  const template = renderTemplate(wrapper, {
    BOS: tokenText(ggml.bos_token_id),
    EOS: tokenText(ggml.eos_token_id),
    EOT: tokenText(ggml.eot_token_id),
  });
  templates.set(path, { key, template });
  return template;
}

/** Text of the special tokens a chat wrapper may place, when the model has them. */
type SpecialTokenText = Partial<Record<'BOS' | 'EOS' | 'EOT', string>>;

/**
 * Renders a one-turn conversation with and without a system message and joins the two into
 * `{{ if .System }}...{{ else }}...{{ end }}`. Returns only the second when the wrapper drops or
 * rejects the system message.
 */
function renderTemplate(wrapper: ChatWrapper, specialTokens: SpecialTokenText): string {
  const withoutSystem = renderTurn(wrapper, false, specialTokens);
  let withSystem: string;
  try {
    withSystem = renderTurn(wrapper, true, specialTokens);
  } catch {
    // Some Jinja chat templates raise an exception for a system message.
    return toGoTemplate(withoutSystem);
  }
  if (!withSystem.includes(SYSTEM_MARK)) return toGoTemplate(withoutSystem);
  return `{{ if .System }}${toGoTemplate(withSystem)}{{ else }}${toGoTemplate(withoutSystem)}{{ end }}`;
}

function renderTurn(wrapper: ChatWrapper, withSystem: boolean, specialTokens: SpecialTokenText): string {
  const chatHistory: ChatHistoryItem[] = [];
  if (withSystem) chatHistory.push({ type: 'system', text: SYSTEM_MARK });
  chatHistory.push({ type: 'user', text: PROMPT_MARK });
  chatHistory.push({ type: 'model', response: [] });
  const { contextText } = wrapper.generateContextState({ chatHistory });

  let text = '';
  contextText.values.forEach((value, index) => {
    if (typeof value === 'string') {
      text += value;
      return;
    }
    if (value instanceof SpecialTokensText) {
      text += value.value;
      return;
    }
    // The tokenizer adds the leading BOS token, so it is not part of the template, as in Ollama's.
    if (value.value === 'BOS' && index === 0) return;
    if (value.value === 'NL') {
      text += '\n';
      return;
    }
    // NOTE: a special token the model does not name (such as SEP) is shown as `<sep>`, a guess.
    const known = value.value === 'SEP' ? undefined : specialTokens[value.value];
    text += known ?? `<${value.value.toLowerCase()}>`;
  });
  return text;
}

/** Escapes literal `{{` so Go's text/template prints it, then puts in the `.System` and `.Prompt` fields. */
function toGoTemplate(text: string): string {
  return text.replaceAll('{{', '{{ "{{" }}').replaceAll(SYSTEM_MARK, '{{ .System }}').replaceAll(PROMPT_MARK, '{{ .Prompt }}');
}
