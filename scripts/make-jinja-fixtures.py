#!/usr/bin/env python3
"""Fixtures for tokc's Jinja interpreter (Sources/TokcJinja), one language feature a case, rendered by Python's
jinja2 in the environment transformers gives chat templates (ImmutableSandboxedEnvironment with trim_blocks,
lstrip_blocks and loop controls; raise_exception; tojson as json.dumps(ensure_ascii=False)).

Usage: pip install jinja2==3.1.6 && python3 scripts/make-jinja-fixtures.py > Tests/Fixtures/jinja-features.jsonl
Each line: {"id", "template", "variables", "output"} or {..., "error": <jinja2's exception class name>}.
"""
import json

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
ENV.filters["tojson"] = tojson
ENV.globals["raise_exception"] = raise_exception

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi  there\n"},
            {"role": "assistant", "content": "Hello!"}]
CASES = [
    ("text", "plain text\nline two\n", {}),
    ("trailing-newline", "a\n\n", {}),
    ("crlf", "a\r\nb\rc", {}),
    ("output", "{{ x }}|{{ y }}|{{ z }}|{{ n }}|{{ b }}|{{ u }}", {"x": "s", "y": 3, "z": 2.5, "n": None, "b": True}),
    ("floats", "{{ a }} {{ b }} {{ c }} {{ d }} {{ e }} {{ f }} {{ g }}",
     {"a": 1e16, "b": 1e15, "c": 0.0001, "d": 0.00001, "e": 123456.789, "f": -0.0, "g": 1.5e-300}),
    ("repr", "{{ l }} {{ d }}", {"l": ["a", 1, 2.0, None, True, "it's", "q\"'"], "d": {"k": "v", "n": [1]}}),
    ("trim-blocks", "{% if true %}\nyes\n{% endif %}\nend", {}),
    ("lstrip-blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
    ("lstrip-not-after-text", "x  {% if true %}y{% endif %}", {}),
    ("dash-control", "a   {{- 'b' -}}   c\n  {%- if true -%}  d  {%- endif %}  e", {}),
    ("plus-control", "a\n  {%+ if true %}b{% endif +%}\nc", {}),
    ("comment", "a {# note #}\nb\n  {# line #}\nc {#- x -#} d", {}),
    ("if-elif-else", "{% for v in [1, 2, 3] %}{% if v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %},{% endfor %}", {}),
    ("for-loop-vars", "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }} {% endfor %}", {"messages": MESSAGES}),
    ("for-previtem", "{% for v in ['a','b','c'] %}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }};{% endfor %}", {}),
    ("for-else", "{% for v in [] %}x{% else %}empty{% endfor %}", {}),
    ("for-filter", "{% for v in [1,2,3,4] if v is even %}{{ v }}{{ loop.index }} {% endfor %}", {}),
    ("for-unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for-dict", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "y": 2}}),
    ("break-continue", "{% for v in range(10) %}{% if v == 2 %}{% continue %}{% endif %}{% if v == 5 %}{% break %}{% endif %}{{ v }}{% endfor %}", {}),
    ("loop-scope", "{% set x = 1 %}{% for v in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for v in [1,2,3] %}{% set ns.n = ns.n + v %}{% set ns.s = ns.s ~ v %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("set-block", "{% set b %}in {{ 1 + 1 }}{% endset %}[{{ b }}]", {}),
    ("set-tuple", "{% set a, b = [1, 2] %}{{ b }}{{ a }}", {}),
    ("macro", "{% macro f(a, b='x') %}<{{ a }}{{ b }}>{% endmacro %}{{ f(1) }}{{ f(2, 'y') }}{{ f(a=3, b='z') }}", {}),
    ("macro-recursive", "{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(3) }}", {}),
    ("recursive-loop", "{% for item in tree recursive %}[{{ item.name }}{% if item.children %}{{ loop(item.children) }}{% endif %}]{% endfor %}",
     {"tree": [{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}]}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 1.5 + 1 }}", {}),
    ("strings-ops", "{{ 'a' + 'b' }} {{ 'ab' * 3 }} {{ 1 ~ 'x' ~ none }} {{ 'b' in 'abc' }} {{ 'z' not in 'abc' }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 2] == [1, 2] }} {{ 2 >= 3 }} {{ none == none }}", {}),
    ("logic-values", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ not '' }} {{ none or [] }}", {}),
    ("conditional-expr", "{{ 'y' if true else 'n' }}{{ 'y' if false else 'n' }}[{{ 'y' if false }}]", {}),
    ("subscripts", "{{ l[0] }}{{ l[-1] }}{{ l[1:] }}{{ l[::-1] }}{{ l[:2] }}{{ s[1:3] }}{{ s[::-1] }}{{ d['k'] }}{{ d.k }}", {"l": [1, 2, 3], "s": "héllo", "d": {"k": "v"}}),
    ("dict-items-attr", "{{ d['items'] }}|{{ (d.items() | list)[0][0] }}|{{ d.items | length }}", {"d": {"items": "key"}}),
    ("missing", "[{{ d.missing }}][{{ l[9] }}][{{ undefined_name }}]{{ d.missing is defined }}{{ x is undefined }}", {"d": {}, "l": []}),
    ("undefined-attr-error", "{{ nothing.attr }}", {}),
    ("tests", "{{ 's' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 1 is number }}{{ none is none }}{{ 1 is not none }}{{ true is boolean }}{{ false is false }}{{ [] is iterable }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 2 is in [1, 2] }}", {}),
    ("string-methods", "{{ ' a b '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('a') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|{{ 'a-b'.replace('-', '+') }}|{{ 'hello world'.title() }}|{{ 'hello'.capitalize() }}|{{ ', '.join(['a', 'b']) }}", {}),
    ("filters-basic", "{{ '  x  ' | trim }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ [1, 2, 3] | length }}|{{ 'héllo' | length }}|{{ none | string }}|{{ [3, 1] | first }}{{ [3, 1] | last }}|{{ [1, 2] | join('-') }}|{{ 'abc' | list }}|{{ [1, 2] | reverse | list }}|{{ 'x' | safe }}", {}),
    ("filter-default", "{{ u | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ none | default('d') }}|{{ u | d('x') }}", {}),
    ("filter-tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ [1.0, 2.5, none, true] | tojson }}", {"d": {"b": [1, {"c": "ü"}], "a": None}}),
    ("filter-dictsort", "{% for k, v in d | dictsort %}{{ k }}{{ v }}{% endfor %}", {"d": {"b": 1, "A": 2, "a": 3}}),
    ("filter-map-select", "{{ l | map(attribute='n') | list }}|{{ ['a', 'b'] | map('upper') | list }}|{{ l | selectattr('n', 'equalto', 2) | list | length }}|{{ l | rejectattr('n', 'equalto', 2) | map(attribute='n') | join(',') }}|{{ [0, 1, 2] | select | list }}", {"l": [{"n": 1}, {"n": 2}]}),
    ("filter-items", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("filter-indent", "{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(4, true) }}", {}),
    ("filter-numbers", "{{ '3' | int }} {{ 2.7 | int }} {{ 3 | float }} {{ -2 | abs }} {{ 2.567 | round(2) }} {{ [1, 2, 3] | sum }} {{ [3, 1, 2] | min }} {{ [3, 1, 2] | sort | list }} {{ [1, 1, 2] | unique | list }}", {}),
    ("raise", "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}", {"messages": MESSAGES}),
    ("list-dict-literals", "{{ [1, 'a', [2]] }} {{ {'k': 1, 'j': [none]} }} {{ (1, 2) | length }} {{ {'a': 1}['a'] }}", {}),
    ("string-escapes", "{{ 'tab\\there' }}|{{ \"q'uote\" }}|{{ 'nl\\nx' }}|{{ '\\u00e9' }}", {}),
    ("string-adjacent", "{{ 'a' 'b' }}", {}),
    ("unknown-filter", "{{ 'x' | nosuchfilter }}", {}),
    ("syntax-error", "{% if %}", {}),
    ("unclosed", "{% if true %}x", {}),
    ("chat-like", "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] | trim + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
     {"messages": MESSAGES, "add_generation_prompt": True}),
]


def main():
    for identifier, template, variables in CASES:
        record = {"id": identifier, "template": template, "variables": variables}
        try:
            record["output"] = ENV.from_string(template).render(**variables)
        except Exception as error:  # the template's own error: what jinja2 raised
            record["error"] = type(error).__name__
            record["message"] = str(error)
        print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
