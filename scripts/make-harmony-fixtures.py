#!/usr/bin/env python3
"""Reference prompts for harmony's rendering of tool schemas (the parts the public chat conversations do not
reach: oneOf at the top and in properties, defaults of each kind, enums, nullable, titles, examples, type lists,
nested objects and arrays, multi-line and CRLF descriptions, a tool without parameters).

    TIKTOKEN_ENCODINGS_BASE=DIR python3 scripts/make-harmony-fixtures.py > Tests/Fixtures/harmony-tools.jsonl

DIR holds o200k_base.tiktoken (openai-harmony reads its vocabulary from there, offline, and checks its sha256).
Needs openai-harmony==0.0.8. Each line: {"tools": [...], "ids": [...], "text": "..."}: a conversation of one
user message with those tools, mapped as the chat references map a request (harmony's default system message, the
tools in a developer message), rendered for completion by the assistant.
"""
import json
import sys

from openai_harmony import (Conversation, DeveloperContent, HarmonyEncodingName, Message, Role, SystemContent,
                            ToolDescription, load_harmony_encoding)

S = {"type": "string"}
TOOLS = [
    [{"type": "function", "function": {"name": "ping", "description": "No parameters at all."}}],
    [{"type": "function", "function": {"name": "empty", "description": "", "parameters": {}}}],
    [{"type": "function", "function": {"name": "lines", "description": "First line.\r\nSecond line.\n\nAfter a blank.\n",
                                       "parameters": {"type": "object", "properties": {"q": S}, "required": ["q"]}}}],
    [{"type": "function", "function": {"name": "kinds", "description": "Every simple kind.", "parameters": {
        "type": "object", "description": "Top-level object description",
        "properties": {
            "s": {"type": "string", "description": "a string", "default": "x\"y"},
            "e": {"type": "string", "enum": ["a", "b"], "default": "a"},
            "n": {"type": "number", "default": 0.5},
            "i": {"type": "integer", "default": 3},
            "b": {"type": "boolean", "default": True},
            "big": {"type": "number", "default": 1e20},
            "small": {"type": "number", "default": 1e-7},
            "whole": {"type": "number", "default": 2.0},
            "list": {"type": "array", "items": {"type": "integer"}, "default": [1, 2]},
            "anyList": {"type": "array"},
            "obj": {"type": "object", "default": {"k": "v", "n": None}},
            "multi": {"type": ["integer", "string", "null"]},
            "nul": {"type": "string", "nullable": True},
            "titled": {"type": "string", "title": "A Title", "examples": ["one", "two"]},
            "untyped": {"description": "no type"},
            "weird": {"type": "date"},
        },
        "required": ["s", "i"]}}}],
    [{"type": "function", "function": {"name": "unions", "description": "oneOf in properties and at the top.", "parameters": {
        "type": "object",
        "properties": {
            "same": {"description": "Same text", "oneOf": [{"type": "string", "description": "Same text"}, {"type": "integer", "description": "other"}]},
            "differ": {"description": "Property text", "default": 4,
                       "oneOf": [{"type": "string", "description": "first"}, {"type": "number", "nullable": True, "default": 1.5}]},
            "enumDefault": {"default": "a", "enum": ["a"], "oneOf": [{"type": "string", "enum": ["a"], "default": "a"}, {"type": "boolean", "default": False}]},
            "nested": {"type": "object", "properties": {"deep": {"type": "object", "description": "deeper",
                                                                   "properties": {"x": {"type": "array", "items": {"type": "object", "properties": {"y": S}}}}}}},
        }}}},
     {"type": "function", "function": {"name": "top", "description": "A top-level oneOf.", "parameters": {
        "oneOf": [{"type": "object", "properties": {"a": S}, "description": "with a", "default": "d"},
                  {"type": "string", "enum": ["z"], "default": "z", "nullable": True}]}}}],
    [{"type": "function", "function": {"name": "ünïcode", "description": "日本語の説明\n二行目",
                                       "parameters": {"type": "object", "properties": {"名前": {"type": "string", "description": "名前です"}}}}}],
]


def main():
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    for tools in TOOLS:
        dev = DeveloperContent.new().with_function_tools([
            ToolDescription.new(t["function"]["name"], t["function"].get("description", ""),
                                parameters=t["function"].get("parameters")) for t in tools])
        conversation = Conversation.from_messages([
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, dev),
            Message.from_role_and_content(Role.USER, "Use a tool."),
        ])
        ids = enc.render_conversation_for_completion(conversation, Role.ASSISTANT)
        line = {"tools": tools, "ids": list(ids), "text": enc.decode_utf8(ids)}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
