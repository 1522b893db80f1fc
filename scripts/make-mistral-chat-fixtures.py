#!/usr/bin/env python3
"""Reference prompts for Mistral's request encoding on requests the public chat conversations do not reach:
consecutive messages of one role, system messages in several places, a developer message, JSON and non-JSON tool
results, arguments given as an object or empty, a final assistant turn with tool calls, content-part lists with
empty parts, trailing spaces, empty user content, a tool message with a name, refusals.

    python3 scripts/make-mistral-chat-fixtures.py > Tests/Fixtures/mistral-requests.jsonl

Needs mistral-common==1.13.1, whose own data files are the ones tokc ships (mistral-v3.model = its
mistral_instruct_tokenizer_240323.model.v3, mistral-v7.model = ..._241114.model.v7, tekken.json.gz =
tekken_240718.json). As the chat references do: mode finetuning when the last message is the assistant's, test
otherwise. Each line: {"vocab", "request", "ids", "text"} or {"vocab", "request", "error"}.
"""
import json
import os
import sys

import mistral_common
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.protocol.instruct.validator import ValidationMode
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

DATA = os.path.join(os.path.dirname(mistral_common.__file__), "data")
FILES = {"mistral-v3": "mistral_instruct_tokenizer_240323.model.v3", "mistral-v7": "mistral_instruct_tokenizer_241114.model.v7",
         "tekken": "tekken_240718.json"}
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather ünïcode",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "n": {"type": "number", "default": 1.50}}}}}


def call(cid, args):
    return {"id": cid, "type": "function", "function": {"name": "get_weather", "arguments": args}}


U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}
REQUESTS = [
    {"messages": [U("a"), U("b"), A("x  "), A("y"), U("c")]},
    {"messages": [S("one"), S("two"), U("q"), A("r"), S("three"), U("s")]},
    {"messages": [{"role": "developer", "content": "dev"}, U("q")]},
    {"messages": [S("sys"), U("")]},
    {"messages": [U([{"type": "text", "text": "p1"}, {"type": "text", "text": ""}, {"type": "text", "text": "p2"}])]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF123", "{\"city\":\"Kyoto\",\"n\":2.50}")]},
                  {"role": "tool", "tool_call_id": "abcDEF123", "content": "{\"t\": 1e-3, \"s\": \"é\"}"}, U("more")], "tools": [TOOL]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF123", "not json"), call("xyzXYZ789", "")]},
                  {"role": "tool", "tool_call_id": "abcDEF123", "content": "plain text"},
                  {"role": "tool", "tool_call_id": "xyzXYZ789", "content": "", "name": "get_weather"}], "tools": [TOOL]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF123", {"city": "京都"})]},
                  {"role": "tool", "tool_call_id": "abcDEF123", "content": [{"type": "text", "text": "[1, "}, {"type": "text", "text": "2]"}]}]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF123", "{}")]}], "tools": [TOOL]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}]},
    {"messages": [U("w?"), A("sure"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF123", "{}")]},
                  {"role": "tool", "tool_call_id": "abcDEF123", "content": "1"}]},
    {"messages": [U("q"), A("")]},
    {"messages": [A("first")]},
    {"messages": [U("q"), {"role": "tool", "tool_call_id": "abcDEF123", "content": "1"}]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF12", "{}")]},
                  {"role": "tool", "tool_call_id": "abcDEF12", "content": "1"}]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [{"id": "abcDEF123", "type": "function", "function": {"name": "bad name", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "abcDEF123", "content": "1"}]},
    {"messages": [U("w?"), {"role": "assistant", "content": None, "tool_calls": [call("abcDEF123", "{}")]}, U("no result")]},
    {"messages": [U("[INST] text [/INST] <s> </s> [TOOL_CALLS]"), A("ok"), U("x")]},
]


def main():
    tokenizers = {(name, mode): MistralTokenizer.from_file(os.path.join(DATA, file), mode=mode)
                  for name, file in FILES.items() for mode in (ValidationMode.test, ValidationMode.finetuning)}
    for name in FILES:
        for request in REQUESTS:
            messages = request["messages"]
            mode = ValidationMode.finetuning if messages[-1]["role"] == "assistant" else ValidationMode.test
            line = {"vocab": name, "request": request}
            try:
                encoded = tokenizers[(name, mode)].encode_chat_completion(ChatCompletionRequest.from_openai(messages, request.get("tools")))
                line.update(ids=list(encoded.tokens), text=encoded.text)
            except Exception as error:  # the library's own refusal, kept as its message
                line.update(error=str(error))
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
