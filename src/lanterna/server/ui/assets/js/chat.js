// Chat messages out of a span's inputs and outputs, in the formats LLM clients use: OpenAI chat
// completions (messages, choices, tool calls, tool results), OpenAI responses (input items,
// instructions, output items, function calls and their outputs), legacy completions, and
// content-block messages (text, tool_use, tool_result). Rendered as text only; images and links
// are named, never loaded.

import { h } from "./dom.js";
import { longText, jsonBlock } from "./json.js";

function partText(part) {
  if (typeof part === "string") return { text: part };
  if (!part || typeof part !== "object") return { text: JSON.stringify(part) };
  const type = part.type || "";
  if (typeof part.text === "string") return { text: part.text };
  if (type === "image_url" || type === "input_image" || type === "image") {
    const url = part.image_url?.url ?? part.image_url ?? part.source?.url ?? "";
    return { text: `[image${typeof url === "string" && url && !url.startsWith("data:") ? ": " + url : ""}]` };
  }
  if (type === "tool_use") return { call: { id: part.id, name: part.name, arguments: part.input } };
  if (type === "tool_result") {
    return { result: { id: part.tool_use_id, content: part.content } };
  }
  if (type === "refusal") return { text: `[refusal] ${part.refusal}` };
  return { json: part };
}

function toolCall(call) {
  const fn = call.function || call;
  return { id: call.id || call.call_id, name: fn.name, arguments: fn.arguments ?? fn.input };
}

function normalise(message) {
  if (!message || typeof message !== "object") return null;
  const out = { role: message.role || "assistant", parts: [], calls: [], results: [] };
  if (message.type === "function_call") {
    out.role = "assistant";
    out.calls.push(toolCall(message));
    return out;
  }
  if (message.type === "function_call_output") {
    out.role = "tool";
    out.toolCallId = message.call_id;
    out.parts.push({ text: typeof message.output === "string" ? message.output : JSON.stringify(message.output) });
    return out;
  }
  if (message.type && message.type !== "message" && !message.role) return null;
  const content = message.content;
  if (typeof content === "string") out.parts.push({ text: content });
  else if (Array.isArray(content)) {
    for (const part of content) {
      const piece = partText(part);
      if (piece.call) out.calls.push(piece.call);
      else if (piece.result) out.results.push(piece.result);
      else out.parts.push(piece);
    }
  } else if (content !== undefined && content !== null) out.parts.push({ json: content });
  for (const call of message.tool_calls || []) out.calls.push(toolCall(call));
  if (message.function_call) out.calls.push(toolCall(message.function_call));
  if (message.tool_call_id) out.toolCallId = message.tool_call_id;
  if (message.name && out.role !== "assistant") out.name = message.name;
  if (message.refusal) out.parts.push({ text: `[refusal] ${message.refusal}` });
  return out;
}

function fromInputs(inputs) {
  if (!inputs || typeof inputs !== "object") return [];
  const messages = [];
  if (typeof inputs.instructions === "string") messages.push({ role: "system", content: inputs.instructions });
  if (typeof inputs.system === "string") messages.push({ role: "system", content: inputs.system });
  if (Array.isArray(inputs.messages)) messages.push(...inputs.messages);
  if (typeof inputs.input === "string") messages.push({ role: "user", content: inputs.input });
  else if (Array.isArray(inputs.input)) {
    for (const item of inputs.input) {
      messages.push(typeof item === "string" ? { role: "user", content: item } : item);
    }
  }
  if (typeof inputs.prompt === "string") messages.push({ role: "user", content: inputs.prompt });
  return messages;
}

function fromOutputs(outputs) {
  if (typeof outputs === "string") return [{ role: "assistant", content: outputs }];
  if (!outputs || typeof outputs !== "object") return [];
  if (Array.isArray(outputs.choices)) {
    return outputs.choices.map((choice) => choice.message ||
      (choice.delta ? { role: "assistant", ...choice.delta } : null) ||
      (typeof choice.text === "string" ? { role: "assistant", content: choice.text } : null))
      .filter(Boolean);
  }
  if (Array.isArray(outputs.output)) return outputs.output;
  if (outputs.role && outputs.content !== undefined) return [outputs];
  if (Array.isArray(outputs.messages)) return outputs.messages;
  if (typeof outputs.output_text === "string") return [{ role: "assistant", content: outputs.output_text }];
  return [];
}

/** The conversation a span's inputs and outputs hold, or null if they are not chat-shaped. */
export function chatMessages(inputs, outputs) {
  const input = fromInputs(inputs).map(normalise).filter(Boolean);
  const output = fromOutputs(outputs).map(normalise).filter(Boolean);
  for (const m of output) m.output = true;
  if (!input.length && !output.length) return null;
  if (!input.length && output.length && typeof outputs === "string") return null;
  return [...input, ...output];
}

function args(value) {
  if (typeof value === "string") {
    try { return JSON.parse(value); } catch { return value; }
  }
  return value;
}

export function renderChat(messages) {
  return h("div.chat", null, messages.map((m) => {
    const role = String(m.role || "assistant").toLowerCase();
    const head = h("div.msg-head", null, h("span.role", { text: role }),
      m.name ? h("span.msg-name", { text: m.name }) : null,
      m.toolCallId ? h("span.msg-ref", { text: `result of ${m.toolCallId}` }) : null,
      m.output ? h("span.msg-ref", { text: "response" }) : null);
    const body = h("div.msg-body", null, m.parts.map((p) => (p.json !== undefined ?
      jsonBlock(p.json) : longText(String(p.text ?? ""), "msg-text"))));
    for (const call of m.calls) {
      const value = args(call.arguments);
      body.append(h("div.tool-call", null,
        h("div.tool-head", null, h("span.tool-label", { text: "tool call" }),
          h("span.tool-name", { text: String(call.name ?? "") }),
          call.id ? h("span.msg-ref", { text: String(call.id) }) : null),
        typeof value === "string" ? longText(value, "msg-text") : jsonBlock(value)));
    }
    for (const result of m.results) {
      body.append(h("div.tool-result", null,
        h("div.tool-head", null, h("span.tool-label", { text: "tool result" }),
          result.id ? h("span.msg-ref", { text: String(result.id) }) : null),
        typeof result.content === "string" ? longText(result.content, "msg-text") :
          jsonBlock(result.content)));
    }
    return h(`div.msg.role-${role.replace(/[^a-z_-]/g, "")}`, null, head, body);
  }));
}
