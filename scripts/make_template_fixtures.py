#!/usr/bin/env python3
"""Records chat-template fixtures for the ChatTemplates tests.

Every expected string here comes from transformers' own renderer
(`transformers.utils.chat_template_utils.render_jinja_template`, the function
`apply_chat_template` calls), never typed by hand. Writes:

  Tests/Fixtures/chat-templates/cases/<template>.json   real templates x conversations x options
  Tests/Fixtures/chat-templates/snippets.json           small Jinja snippets for the interpreter unit tests

Usage: STEER_VENV=/work/venv scripts/py.sh scripts/make_template_fixtures.py
"""
import datetime as _dt
import json
import os
import resource
import sys

import jinja2
import transformers.utils.chat_template_utils as ctu

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "chat-templates")
TEMPLATES = os.path.join(ROOT, "templates")

# A fixed clock: `strftime_now` calls `datetime.now()` from the module's globals.
FIXED_NOW = _dt.datetime(2025, 3, 7, 14, 5, 9)


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


ctu.datetime = _FixedDatetime

# ---------------------------------------------------------------------------
# Conversations

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name, e.g. \"Zürich\"."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit."},
                "days": {"type": "integer", "description": "Forecast days."},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time.",
        "parameters": {"type": "object", "properties": {}},
    },
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]
DOCUMENTS = [
    {"title": "Paris", "text": "Paris is the capital of France."},
    {"title": "Zürich", "text": "Zürich lies on Lake Zürich.\nIt has trams."},
]
TOOL_CALL = {
    "id": "call12345",
    "type": "function",
    "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}},
}

CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hi"}],
    "system_user": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hi"},
    ],
    "multi_turn": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "  Tell me a joke.\n"},
    ],
    "multi_turn_no_system": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What's 2+2? Use \"quotes\" & <tags>, é ü 漢字."},
    ],
    "ends_with_assistant": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello there."},
    ],
    "think_in_content": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "<think>\nTwo plus two is four.\n</think>\n\nIt is 4."},
        {"role": "user", "content": "And 3+3?"},
    ],
    "reasoning_content": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "It is 4.", "reasoning_content": "Two plus two is four."},
        {"role": "user", "content": "And 3+3?"},
    ],
    "tool_calls": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temp\": 21, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21 °C and clear."},
        {"role": "user", "content": "Thanks!"},
    ],
    "tool_calls_no_system": [
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "21 degrees"},
    ],
    "content_parts": [
        {"role": "user", "content": [{"type": "text", "text": "Describe this."}, {"type": "image"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ],
}

# Which extra context each conversation gets.
WITH_TOOLS = {"tool_calls", "tool_calls_no_system"}


def special_tokens(name):
    """A plausible bos/eos pair per family (only needs to be consistent with the Swift side)."""
    n = name.lower()
    if "llama-3" in n or "llama-3.1" in n or "firefunction" in n or "hermes-3" in n or "functionary" in n:
        return "<|begin_of_text|>", "<|eot_id|>"
    if "gemma" in n:
        return "<bos>", "<eos>"
    if "qwen" in n or "chatml" in n or "yi-chat" in n:
        return None, "<|im_end|>"
    if "deepseek" in n:
        return "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
    if "phi" in n:
        return "<s>", "<|endoftext|>"
    if "command" in n:
        return "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"
    if "gpt-oss" in n:
        return "<|startoftext|>", "<|return|>"
    return "<s>", "</s>"


def option_sets(name, source):
    """add_generation_prompt on/off, plus the kwargs a template reads."""
    extras = [{}]
    if "enable_thinking" in source:
        extras += [{"enable_thinking": True}, {"enable_thinking": False}]
    if "deepseek-ai-DeepSeek-V3.1" in name:
        extras += [{"thinking": True}]
    if "granite" in name:
        extras += [{"thinking": True}]
    if "gpt-oss" in name:
        extras += [{"reasoning_effort": "high"}, {"builtin_tools": ["browser", "python"]}]
    if "firefunction" in name:
        # This template needs these variables (see SOURCES.md).
        extras = [{"functions": json.dumps(TOOLS, indent=2), "datetime": "2025-03-07"}]
    if "Llama-3.1" in name:
        extras += [{"builtin_tools": ["brave_search", "wolfram_alpha"]}, {"date_string": "01 Jan 2024"}]
    out = []
    for e in extras:
        for agp in (True, False):
            out.append((agp, e))
    return out


def render(source, messages, tools, documents, agp, bos, eos, extra):
    kwargs = {}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    kwargs.update(extra)
    # Same steps as `apply_chat_template`: normalise messages, then render.
    conv = ctu._normalize_chat_messages(messages)
    try:
        rendered, _ = ctu.render_jinja_template(
            conversations=[conv], tools=tools, documents=documents, chat_template=source,
            add_generation_prompt=agp, **kwargs)
        return {"expected": rendered[0]}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": {"type": "TemplateSyntaxError", "message": str(e.message)}}
    except jinja2.exceptions.TemplateError as e:
        # raise_exception raises a bare TemplateError; subclasses are Jinja's own errors.
        return {"error": {"type": type(e).__name__, "message": str(e.message if hasattr(e, "message") else e)}}
    except Exception as e:  # Python errors raised inside the template (TypeError, ...)
        return {"error": {"type": type(e).__name__, "message": str(e)}}


def make_cases():
    os.makedirs(os.path.join(ROOT, "cases"), exist_ok=True)
    summary = []
    for fname in sorted(os.listdir(TEMPLATES)):
        if not fname.endswith(".jinja"):
            continue
        name = fname[: -len(".jinja")]
        with open(os.path.join(TEMPLATES, fname), encoding="utf-8") as f:
            source = f.read()
        bos, eos = special_tokens(name)
        cases = []
        for conv_name, messages in CONVERSATIONS.items():
            tool_opts = [None, TOOLS] if conv_name in WITH_TOOLS or conv_name == "single_user" else [None]
            doc_opts = [None]
            if "documents" in source and conv_name in ("single_user", "multi_turn"):
                doc_opts.append(DOCUMENTS)
            for tools in tool_opts:
                for docs in doc_opts:
                    for agp, extra in option_sets(name, source):
                        case = {
                            "name": f"{conv_name}|agp={agp}|tools={tools is not None}|docs={docs is not None}|{json.dumps(extra, ensure_ascii=False)}",
                            "messages": messages,
                            "add_generation_prompt": agp,
                            "bos_token": bos,
                            "eos_token": eos,
                            "tools": tools,
                            "documents": docs,
                            "extra": extra,
                        }
                        case.update(render(source, messages, tools, docs, agp, bos, eos, extra))
                        cases.append(case)
        ok = sum(1 for c in cases if "expected" in c)
        summary.append(f"{name}: {len(cases)} cases, {ok} render, {len(cases) - ok} raise")
        with open(os.path.join(ROOT, "cases", name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"template": fname, "now": FIXED_NOW.isoformat(), "cases": cases}, f, ensure_ascii=False, indent=1)
    print("\n".join(summary))


# ---------------------------------------------------------------------------
# Interpreter snippets: (name, template, context). Rendered in transformers' environment.

SNIPPETS = [
    # whitespace control, trim_blocks / lstrip_blocks
    ("ws_trim_blocks", "{% if true %}\nA\n{% endif %}\nB", {}),
    ("ws_lstrip", "x\n    {% if true %}\n  y\n    {% endif %}\nz", {}),
    ("ws_minus", "a   {{- 'b' -}}   c\n\n{%- if true -%}  d  {%- endif -%}  e", {}),
    ("ws_plus", "a\n  {%+ if true %}b{% endif +%}\nc", {}),
    ("ws_comment", "a\n  {# note #}\nb {#- x -#} c", {}),
    ("ws_var_no_lstrip", "a\n  {{ 'x' }}\n  b", {}),
    ("ws_trailing_newline", "abc\n", {}),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", {}),
    ("ws_raw", "{% raw %}{{ not parsed }}{% endraw %}!", {}),
    ("ws_after_expr_block", "{{ 'a' }}  {% if true %}b{% endif %}", {}),
    # literals and printing
    ("print_values", "{{ 1 }} {{ 1.0 }} {{ 2.50 }} {{ 1e3 }} {{ true }} {{ none }} {{ 'x' }} {{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': [1]} }} {{ (1, 2) }} {{ (1,) }}", {}),
    ("print_strings_repr", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'nl\\n', 'tab\\t'] }}", {}),
    ("print_float_ops", "{{ 10 / 4 }} {{ 10 // 4 }} {{ 10 % 3 }} {{ 2 ** 10 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 1e20 * 10 }} {{ 2 ** -1 }}", {}),
    ("concat", "{{ 'a' ~ 1 ~ none ~ true ~ [1] }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 3 }}", {}),
    ("compare", "{{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1,2] == [1,2] }} {{ 1 != 2 }} {{ 3 >= 3 }} {{ 'a' in 'cat' }} {{ 2 not in [1] }} {{ 'k' in {'k': 1} }}", {}),
    ("logic", "{{ 1 and 'x' }} {{ 0 or 'y' }} {{ not [] }} {{ none or 0 }} {{ '' and 1 }}", {}),
    ("condexpr", "{{ 'y' if true else 'n' }} {{ 'y' if false }}| {{ 'a' if 0 else 'b' if 1 else 'c' }}", {}),
    ("string_escapes", "{{ 'a\\nb' }}|{{ \"q\\\"q\" }}|{{ 'u\\u00e9' }}|{{ 'adj' 'acent' }}", {}),
    # subscripts and slices
    ("subscript", "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[-2] }} {{ d['a'] }} {{ d.a }}", {"xs": [1, 2, 3, 4], "s": "héllo", "d": {"a": 1}}),
    ("missing_key", "[{{ d.missing }}][{{ d['missing'] }}][{{ xs[10] }}]", {"d": {"a": 1}, "xs": [1]}),
    ("dict_method_vs_key", "{{ d.items is defined }} {{ d['items'] }}", {"d": {"items": "X"}}),
    # undefined semantics
    ("undef_print", "[{{ foo }}]", {}),
    ("undef_iter", "{% for x in foo %}a{% else %}empty{% endfor %}", {}),
    ("undef_attr", "{{ foo.bar }}", {}),
    ("undef_attr_of_missing_key", "{{ d.x.y }}", {"d": {}}),
    ("undef_call", "{{ foo() }}", {}),
    ("undef_arith", "{{ foo + 1 }}", {}),
    ("undef_tests", "{{ foo is defined }} {{ foo is undefined }} {{ foo is none }} {{ foo | length }} {{ foo == none }} {{ not foo }} {{ foo ~ 'x' }} {{ foo | default('d') }}", {}),
    ("undef_in", "{{ 'a' in foo }}", {}),
    ("none_attr", "[{{ n.x }}]", {"n": None}),
    ("undef_tojson", "{{ foo | tojson }}", {}),
    ("undef_string_filter", "[{{ foo | string }}][{{ foo | trim }}]", {}),
    # loops
    ("loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}", {}),
    ("loop_prev_next", "{% for x in [1,2,3] %}[{{ loop.previtem }}-{{ loop.nextitem }}]{% endfor %}", {}),
    ("loop_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("loop_else", "{% for x in [] %}x{% else %}none{% endfor %}", {}),
    ("loop_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.index }},{% endfor %}", {}),
    ("loop_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("loop_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("loop_scope", "{% set c = 0 %}{% for i in [1, 2] %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}", {}),
    ("loop_nested", "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_dict_iter", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("loop_recursive", "{% for n in tree recursive %}{{ n.name }}{% if n.kids %}({{ loop(n.kids) }}){% endif %}{% endfor %}", {"tree": [{"name": "a", "kids": [{"name": "b"}, {"name": "c"}]}]}),
    ("range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}", {}),
    # set, namespace
    ("set_basic", "{% set x = 3 %}{% set a, b = 1, 2 %}{{ x }}{{ a }}{{ b }}", {}),
    ("set_block", "{% set body %}\nhello {{ 1 + 1 }}\n{% endset %}[{{ body }}]", {}),
    ("namespace", "{% set ns = namespace(found=false, n=0) %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}", {}),
    ("namespace_missing_attr", "[{{ namespace(a=1).b }}]", {}),
    # macros and call
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }} {{ greet(name='Z') }}", {}),
    ("macro_caller", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ 1 }}{% endcall %}", {}),
    ("macro_caller_args", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(v) each([1,2]) %}<{{ v }}>{% endcall %}", {}),
    ("macro_recursive", "{% macro f(n) %}{{ n }}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", {}),
    ("macro_whitespace", "{% macro m() %}\n  line\n{% endmacro %}\n[{{ m() }}]", {}),
    ("macro_varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}", {}),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}", {}),
    ("generation_block", "{% generation %}gen {{ 1 }}{% endgeneration %}!", {}),
    # tests
    ("tests_types", "{{ 'a' is string }}{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is boolean }}{{ true is integer }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ none is none }}{{ range is callable }}{{ [] is mapping }}", {}),
    ("tests_values", "{{ 2 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 1 is ne 2 }}{{ 1 is in [1] }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ true is true }}{{ 0 is false }}{{ 3 is gt 2 }}{{ 3 is lt 2 }}{{ 3 is ge 3 }}{{ 3 is le 2 }}{{ 'x' is sameas 'x' }}", {}),
    ("test_not", "{{ x is not none }}{{ x is not defined }}{{ not x is defined }}", {"x": 1}),
    # filters
    ("f_tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ [1.0, 2, none, true] | tojson }}|{{ d | tojson(separators=(',', ':')) }}|{{ d | tojson(sort_keys=true) }}", {"d": {"z": "Zürich <b>&", "a": [1, {"x": None}], "e": {}, "l": []}}),
    ("f_tojson_indent_str", "{{ d | tojson(indent='\\t') }}", {"d": {"a": [1, 2]}}),
    ("f_tojson_ctrl", "{{ s | tojson }}", {"s": "a\u0001b\u007f\u2028c\td"}),
    ("f_strings", "{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello world' | capitalize }}|{{ 'hello wORLD' | title }}|{{ 'aXbX' | replace('X', '-') }}|{{ 'aXbX' | replace('X', '-', 1) }}", {}),
    ("f_join", "{{ [1, 2, 3] | join(', ') }}|{{ ['a', 'b'] | join }}|{{ xs | join(',', attribute='n') }}", {"xs": [{"n": 1}, {"n": 2}]}),
    ("f_map", "{{ xs | map(attribute='n') | list }}|{{ ['a','b'] | map('upper') | join }}|{{ xs | map(attribute='m', default='d') | list }}", {"xs": [{"n": 1}, {"n": 2}]}),
    ("f_select", "{{ [1,2,3,4] | select('odd') | list }}|{{ [1,2,3,4] | reject('even') | list }}|{{ [0, 1, '', 'a'] | select | list }}|{{ xs | selectattr('ok') | map(attribute='n') | list }}|{{ xs | rejectattr('ok') | map(attribute='n') | list }}|{{ xs | selectattr('n', 'equalto', 2) | list }}|{{ xs | selectattr('n', '==', 1) | list }}", {"xs": [{"n": 1, "ok": True}, {"n": 2, "ok": False}]}),
    ("f_items_list", "{{ d | items | list }}|{{ 'ab' | list }}|{{ d | list }}|{{ d.keys() | list }}|{{ d.values() | list }}", {"d": {"b": 1, "a": 2}}),
    ("f_length", "{{ [1,2] | length }} {{ 'héllo' | length }} {{ {'a': 1} | count }} {{ xs | length }}", {"xs": []}),
    ("f_first_last", "{{ [1,2,3] | first }} {{ [1,2,3] | last }} {{ 'abc' | first }}", {}),
    ("f_default", "{{ foo | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ 'v' | d('x') }} {{ false | default('d') }}", {}),
    ("f_numbers", "{{ '3' | int }} {{ 3.7 | int }} {{ 'x' | int }} {{ '2.5' | float }} {{ 3 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 2.4 | round(0, 'ceil') }} {{ 7 | round }}", {}),
    ("f_indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\nb' | indent('> ', first=true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}", {}),
    ("f_escape", "{{ '<a href=\"x\">&\\'</a>' | e }}|{{ '<b>' | escape }}|{{ '<b>' | safe }}|{{ '<p>a <b>b</b></p>' | striptags }}", {}),
    ("f_dictsort", "{{ d | dictsort }}|{{ d | dictsort(reverse=true) }}|{{ d | dictsort(by='value') }}", {"d": {"b": 1, "a": 3, "C": 2}}),
    ("f_collections", "{{ [3,1,2,1] | unique | list }}|{{ [1,2,3] | reverse | list }}|{{ 'abc' | reverse }}|{{ [3,1,2] | sort }}|{{ [3,1,2] | sort(reverse=true) }}|{{ ['b', 'A', 'c'] | sort }}|{{ xs | sort(attribute='n') | map(attribute='n') | list }}|{{ [1,2,3] | sum }}|{{ xs | sum(attribute='n') }}|{{ [3,1,2] | min }}|{{ [3,1,2] | max }}", {"xs": [{"n": 2}, {"n": 1}]}),
    ("f_batch", "{{ [1,2,3,4,5] | batch(2) | list }}|{{ [1,2,3] | batch(2, 'x') | list }}", {}),
    ("f_misc", "{{ 'a b  c' | wordcount }}|{{ 1 | string }}|{{ [1] | string }}|{{ none | string }}|{{ 'abc' | center(7) }}|{{ 'x' | pprint }}", {}),
    ("f_string_concat_list", "{{ 'x' ~ ['a', \"b'\"] }}", {}),
    # python methods
    ("m_strip", "[{{ '  a  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '  a '.lstrip() }}][{{ '\\n\\na'.lstrip('\\n') }}][{{ 'a  '.rstrip() }}][{{ 'abcc'.rstrip('c') }}]", {}),
    ("m_split", "{{ 'a b  c'.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'x</think>y'.split('</think>')[-1] }}|{{ ' a '.split(' ') }}|{{ 'a b c'.rsplit(' ', 1) }}", {}),
    ("m_misc", "{{ 'abc'.startswith('a') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'hello world'.title() }}{{ 'hello'.capitalize() }}{{ 'aaa'.replace('a', 'b', 2) }}{{ 'abcb'.find('b') }}{{ 'abc'.find('z') }}{{ 'abcb'.count('b') }}{{ 'a-b'.index('-') }}", {}),
    ("m_format", "{{ '{} and {}'.format(1, 'x') }}|{{ '{a}!'.format(a=2) }}|{{ '%s-%d' % ('a', 3) }}", {}),
    ("m_dict", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }}", {"d": {"a": 1, "b": [2]}}),
    ("m_list_append", "{% set xs = [1] %}{{ xs.append(2) }}{{ xs }}", {}),
    ("m_list_count_index", "{{ [1,2,1].count(1) }} {{ [1,2,3].index(2) }}", {}),
    ("m_string_misc", "{{ 'a\\nb'.splitlines() }} {{ 'abc'.isalpha() }} {{ '12'.isdigit() }} {{ ','.join(['a', 'b']) }} {{ 'ab'.zfill(4) }} {{ 'Ab'.swapcase() }} {{ 'a'.center(3, '*') }} {{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }}", {}),
    # globals
    ("raise_exception", "{% if true %}{{ raise_exception('Bad role: ' ~ 'x') }}{% endif %}", {}),
    ("strftime_now", "{{ strftime_now('%d %b %Y %H:%M:%S %A %B %a %j %m %y %I %p %%') }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }} {{ dict(a=1).a }}", {}),
    ("in_on_dict_and_none", "{{ 'a' in none }}", {}),
    # errors with position
    ("err_syntax_unclosed", "line1\n{% if true %}\nno end", {}),
    ("err_syntax_bad_expr", "a\n  {{ 1 + }}", {}),
    ("err_unknown_tag", "{% foo %}", {}),
    ("err_unknown_filter", "{{ 1 | nosuchfilter }}", {}),
    ("err_unknown_test", "{{ 1 is nosuchtest }}", {}),
    ("err_int_plus_str", "{{ 1 + 'a' }}", {}),
    ("err_undefined_method", "{{ 'a'.nosuch() }}", {}),
    ("err_call_non_callable", "{{ x() }}", {"x": 1}),
    ("err_div_zero", "{{ 1 / 0 }}", {}),
    ("err_endfor_mismatch", "{% for x in y %}{% endif %}", {}),
    ("err_break_outside", "{% break %}", {}),
]


# Hostile expressions from the sandbox issue, as jinja2 answers them (its MemoryError / RecursionError become
# Steer's `.limit` errors; where Python computes an integer beyond 64 bits, `big_int` is recorded and Steer raises
# `.overflow`). Values that must not be constant-folded by jinja2's compiler come from the context. Left out on
# purpose, because Python would exhaust the machine rather than answer: string doubling in a namespace and
# nested loops of 10^10 iterations (SandboxTests covers them).
I64 = 2**63 - 1
SANDBOX_SNIPPETS = [
    ("sandbox_floordiv_min", "{{ (-2**63)//-1 }}", {}),
    ("sandbox_abs_min", "{{ (-2**63)|abs }}", {}),
    ("sandbox_abs_min_ctx", "{{ x|abs }}", {"x": -2**63}),
    ("sandbox_neg_min", "{{ -x }}", {"x": -2**63}),
    ("sandbox_mul_overflow", "{{ x * 2 }}", {"x": 2**62}),
    ("sandbox_add_overflow", "{{ 9223372036854775807 + 1 }}", {}),
    ("sandbox_pow_2_63", "{{ 2**63 }}", {}),
    ("sandbox_int_filter_big", "{{ x|int }}", {"x": 1e300}),
    ("sandbox_mod_min", "{{ x % -1 }}|{{ x // 1 }}", {"x": -2**63}),
    ("sandbox_pow_huge_exponent", "{{ 1 ** (10**18) }}|{{ (-1) ** (10**18 + 1) }}|{{ 2**62 }}|{{ 2 ** -2 }}", {}),
    ("sandbox_indent_max", "{{ 'a'|indent(2**63-1) }}", {}),
    ("sandbox_indent_max_ctx", "{{ 'a'|indent(n) }}", {"n": I64}),
    ("sandbox_range_max", "{{ range(2**63-1)|length }}", {}),
    ("sandbox_range_max_ctx", "{{ range(n)|length }}", {"n": I64}),
    ("sandbox_range_span", "{{ range(a, b)|length }}", {"a": -I64, "b": I64}),
    ("sandbox_range_step", "{{ range(1, n, 3)|length }}|{{ range(0, n, n)|list }}", {"n": I64}),
    ("sandbox_format_inf_literal", "{{ '%d'|format(1e400) }}", {}),
    ("sandbox_format_inf", "{{ '%d'|format(s|float) }}", {"s": "inf"}),
    ("sandbox_format_nan", "{{ '%d' % (s|float) }}", {"s": "nan"}),
    ("sandbox_int_filter_inf", "{{ s|float|int }}", {"s": "inf"}),
    ("sandbox_int_filter_strings", "{{ a|int }}|{{ b|int }}|{{ c|int }}|{{ d|int(7) }}", {"a": "inf", "b": "nan", "c": "1e400", "d": "12abc"}),
    ("sandbox_float_pow_overflow", "{{ 2.0 ** x }}", {"x": 10000}),
    ("sandbox_zero_negative_pow", "{{ 0 ** x }}", {"x": -1}),
    ("sandbox_str_repeat", "{{ 'x' * 10**12 }}", {}),
    ("sandbox_list_repeat", "{{ [1] * 10**10 }}", {}),
    ("sandbox_center_filter", "{{ 'x'|center(10**12) }}", {}),
    ("sandbox_center_method", "{{ 'x'.center(10**12) }}", {}),
    ("sandbox_ljust_max", "{{ 'x'.ljust(n) }}", {"n": I64}),
    ("sandbox_zfill_max", "{{ x.zfill(n) }}", {"x": "a", "n": I64}),
    ("sandbox_tojson_indent", "{{ [1]|tojson(indent=10**12) }}", {}),
    ("sandbox_batch_fill", "{{ [1, 2]|batch(10**12, 0)|list }}", {}),
    ("sandbox_percent_width", "{{ '%10000000000d' % 1 }}", {}),
    ("sandbox_percent_precision", "{{ '%.10000000000f' % 1.5 }}", {}),
    ("sandbox_parens", "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", {}),
    ("sandbox_ifs", "{% if true %}" * 1000 + "x" + "{% endif %}" * 1000, {}),
    ("sandbox_plus_chain", "{{ 1" + " + 1" * 1000 + " }}", {}),
    ("sandbox_deep_value", "{% set ns = namespace(x=1) %}{% for i in range(2000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}", {}),
    ("sandbox_macro_recursion", "{% macro f(n) %}{{ f(n - 1) }}{% endmacro %}{{ f(100000) }}", {}),
    # Python's results the checked arithmetic and formatting keep.
    ("sandbox_round_int", "{{ 123|round(-1) }}|{{ 125|round(-1) }}|{{ 135|round(-1) }}|{{ 7|round(-5) }}|{{ 2.5|round(400) }}|{{ 2.5|round(-400) }}", {}),
    ("sandbox_slice_step_max", "{{ x[1::n] }}|{{ x[::-n] }}", {"x": [1, 2, 3], "n": I64}),
    ("sandbox_percent_specs", "{{ '%5s|%-4d|%05.1f|%+d|% d|%x|%#X|%#o|%e|%.3s|%c|%c|%5.2s|%-6.2f|%%' % ('a', 3, 2.25, 5, 7, 255, 255, 8, 12345.678, 'abcdef', 65, 'z', 'xyz', -1.5) }}", {}),
    ("sandbox_percent_args", "{{ '%s' % [1, 2] }}|{{ '%(a)s-%(b)d' % {'a': 'A', 'b': 2} }}|{{ '%d' % 2.9 }}|{{ '%f' % 1 }}|{{ '%g' % 0.0001 }}", {}),
    ("sandbox_percent_too_few", "{{ '%s %s' % ('a',) }}", {}),
    ("sandbox_percent_too_many", "{{ '%s' % ('a', 'b') }}", {}),
    ("sandbox_percent_not_number", "{{ '%d' % 'x' }}", {}),
    ("sandbox_replace_empty", "{{ 'abc'.replace('', '-') }}|{{ 'abc'.replace('', '-', 2) }}|{{ 'aaa'.replace('a', 'bb') }}|{{ 'abc'|replace('', '.') }}", {}),
    ("sandbox_center_fill", "{{ 'ab'.center(5, 'xy') }}", {}),
    ("sandbox_striptags", "{{ '<!-- a <b> -->x<y>z</y> &amp; <!-- open'|striptags }}|{{ 'a<b c'|striptags }}|{{ '<!-->x'|striptags }}", {}),
    ("sandbox_repeat_forms", "{{ 3 * [1] }}{{ (1,) * 3 }}{{ 2 * 'ab' }}{{ [1] * -1 }}{{ 'ab' * 0 }}", {}),
    ("sandbox_find", "{{ 'héllo wörld'.find('ö') }}|{{ 'héllo wörld'.rfind('l') }}|{{ 'abc'.find('') }}|{{ 'abc'.rfind('') }}|{{ 'ö' in 'wörld' }}|{{ 'aXbXc'.rfind('X') }}", {}),
]


def _address_space():
    return int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()


def render_snippet(name, src, ctx):
    entry = {"name": name, "template": src, "context": ctx}
    # The sandbox cases ask Python for terabytes: cap this process's address space so each fails fast with
    # MemoryError instead of pushing the machine into swap.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + (2 << 30), hard))
    try:
        tmpl = ctu._compile_jinja_template(src)
        entry["expected"] = tmpl.render(**ctx)
        try:
            entry["big_int"] = any(not -I64 - 1 <= int(part) <= I64 for part in entry["expected"].split("|"))
        except ValueError:
            pass
    except jinja2.exceptions.TemplateSyntaxError as e:
        entry["error"] = {"type": "TemplateSyntaxError", "message": e.message, "line": e.lineno}
    except jinja2.exceptions.TemplateError as e:
        entry["error"] = {"type": type(e).__name__, "message": e.message}
    except Exception as e:  # Python errors (TypeError, OverflowError, MemoryError, RecursionError, ...)
        entry["error"] = {"type": type(e).__name__, "message": str(e)}
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if "big_int" in entry and not entry["big_int"]:
        del entry["big_int"]
    return entry


def make_snippets():
    out = [render_snippet(name, src, ctx) for name, src, ctx in SNIPPETS + SANDBOX_SNIPPETS]
    with open(os.path.join(ROOT, "snippets.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print(f"{len(out)} snippets, {sum('error' in e for e in out)} raise")


if __name__ == "__main__":
    make_cases()
    make_snippets()
