import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Tokc

/// The page `GET /` serves: paste text (or pick a sample of `Corpus/parallel.tsv`), choose vocabularies and
/// models, and see each vocabulary's tokens coloured over the text, its counts, ratios, parity against the
/// sample's English and the price on each model. Everything it shows comes from the daemon's own ops
/// (`vocabularies`, `models`, `encode` with offsets, `count`, `cost`) over `POST /v1/<op>`.
///
/// One self-contained page: inline style and script, allowed by their hashes in a Content-Security-Policy that
/// forbids everything else (no fonts, images or frames; connections to the daemon only), so it never fetches
/// anything from anywhere else. The state (text or sample, vocabularies, models) is kept in the URL's fragment.
enum Playground {
    struct Page: Sendable {
        var bytes: ByteBuffer
        var headers: HTTPHeaders

        static let none = Page(bytes: ByteBuffer(), headers: HTTPHeaders())
    }

    /// A sample and its English counterpart: the same rows of the parallel corpus.
    struct Sample: Codable {
        var language: String
        var text: String
        var english: String
    }

    /// Rows of `parallel.tsv` taken for each sample.
    static let sampleRows = 16

    static func page() -> Page {
        let samples = (try? EvaluationCorpus.shippedParallelFile.map { try ParallelCorpus(path: $0) }).flatMap { $0 }.map(samples(from:)) ?? []
        let data = String(decoding: (try? JSONEncoder().encode(samples)) ?? Data("[]".utf8), as: UTF8.self)
            .replacingOccurrences(of: "</", with: "<\\/")
        let html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>tokc playground</title>
            <style>\(style)</style>
            </head>
            <body>
            \(body)
            <script type="application/json" id="samples">\(data)</script>
            <script>\(script)</script>
            </body>
            </html>

            """
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/html; charset=utf-8")
        headers.add(name: "content-security-policy", value: contentSecurityPolicy)
        headers.add(name: "x-content-type-options", value: "nosniff")
        headers.add(name: "x-frame-options", value: "DENY")
        headers.add(name: "referrer-policy", value: "no-referrer")
        headers.add(name: "cross-origin-opener-policy", value: "same-origin")
        headers.add(name: "cross-origin-resource-policy", value: "same-origin")
        headers.add(name: "cache-control", value: "no-store")
        return Page(bytes: ByteBuffer(string: html), headers: headers)
    }

    /// Nothing but the page's own style and script (by hash) and requests to the daemon that served it.
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src '\(hash(script))'; style-src '\(hash(style))'; connect-src 'self'; "
            + "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    private static func hash(_ text: String) -> String {
        "sha256-" + Data(SHA256.hash(data: Array(text.utf8))).base64EncodedString()
    }

    /// One sample per language of the parallel corpus: the first `sampleRows` rows that have it and English,
    /// skipping one-word rows and rows with format strings, which say little about a language.
    static func samples(from corpus: ParallelCorpus) -> [Sample] {
        guard let english = corpus.languages.firstIndex(of: "en") else { return [] }
        func text(_ row: Int, _ language: Int) -> String? {
            corpus.withText(row: row, language: language) { $0.map { String(decoding: $0, as: UTF8.self) } }
        }
        var result: [Sample] = []
        for (index, language) in corpus.languages.enumerated() {
            var texts: [String] = []
            var englishTexts: [String] = []
            for row in 0..<corpus.rowCount where texts.count < sampleRows {
                guard let source = text(row, english), let translated = text(row, index) else { continue }
                guard source.split(separator: " ").count >= 6, !source.contains("%"), !source.contains("\t") else { continue }
                texts.append(translated.trimmingCharacters(in: .whitespacesAndNewlines))
                englishTexts.append(source.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if !texts.isEmpty {
                result.append(Sample(language: language, text: texts.joined(separator: "\n"), english: englishTexts.joined(separator: "\n")))
            }
        }
        return result
    }

    static let body = #"""
        <header>
        <h1>tokc playground</h1>
        <p class="lead">Counted by this tokc daemon, exactly as each vocabulary's own tokenizer counts. Nothing leaves this machine.</p>
        </header>
        <section id="input">
        <div class="row">
        <label for="sample">Sample</label>
        <select id="sample"><option value="">your own text</option></select>
        <span id="sample-note"></span>
        </div>
        <textarea id="text" rows="8" spellcheck="false" placeholder="Type or paste text"></textarea>
        <div class="row">
        <label for="vocab-choice">Vocabulary</label>
        <select id="vocab-choice"></select>
        <button id="add-vocab" type="button">add</button>
        <label for="model-choice">Model</label>
        <input id="model-choice" list="model-list" placeholder="gpt-4o, claude-sonnet-4 …" autocomplete="off">
        <datalist id="model-list"></datalist>
        <button id="add-model" type="button">add</button>
        <span id="models"></span>
        </div>
        <p id="status" role="status"></p>
        </section>
        <section id="columns"></section>
        <div id="tip" hidden></div>
        """#

    static let style = #"""
        :root { color-scheme: light; --fg: #1d232b; --muted: #5c6773; --line: #d8dee4; }
        body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); margin: 0 auto; padding: 12px 20px 40px; max-width: 1600px; }
        h1 { font-size: 20px; margin: 4px 0; }
        .lead { color: var(--muted); margin: 0 0 10px; }
        .row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
        textarea { width: 100%; box-sizing: border-box; font: 14px/1.45 ui-monospace, monospace; padding: 8px; border: 1px solid var(--line); border-radius: 4px; }
        select, input, button { font: inherit; padding: 3px 6px; }
        #models .chip, .chip { display: inline-flex; align-items: center; gap: 4px; border: 1px solid var(--line); border-radius: 12px; padding: 0 4px 0 8px; margin-right: 4px; }
        .chip button, .column button.remove { border: none; background: none; cursor: pointer; color: var(--muted); padding: 0 4px; }
        #status { color: #a33; min-height: 1.2em; margin: 0; }
        #columns { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
        .column { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; min-width: 0; }
        .column h2 { font-size: 15px; margin: 0; display: flex; justify-content: space-between; align-items: center; }
        .column .scheme { color: var(--muted); font-weight: normal; font-size: 12px; margin-left: 6px; }
        .stats { display: grid; grid-template-columns: auto auto; gap: 0 12px; margin: 6px 0; font-variant-numeric: tabular-nums; }
        .stats dt { color: var(--muted); }
        .stats dd { margin: 0; text-align: right; }
        .stats dd.count { font-weight: 600; }
        .view { font: 13px/1.6 ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; border-top: 1px solid var(--line); padding-top: 6px; height: 60vh; overflow: auto; contain: strict; }
        .view > div { content-visibility: auto; contain-intrinsic-size: auto 6em; }
        .view > div.cut { text-align-last: justify; }
        .view span.t0 { background: #c9e4ff; } .view span.t1 { background: #ffe0b3; } .view span.t2 { background: #d4f2cf; }
        .view span.t3 { background: #f6d0ea; } .view span.t4 { background: #e4dcff; }
        .view span:hover { outline: 2px solid #333; }
        .error { color: #a33; }
        #tip { position: fixed; pointer-events: none; background: #1d232b; color: #fff; font: 12px/1.4 ui-monospace, monospace; padding: 4px 8px; border-radius: 4px; z-index: 10; white-space: pre; }
        """#

    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const state = { vocabs: [], models: [], sample: "", text: "" };
        const known = { vocabs: new Map(), models: new Map() };
        const samples = JSON.parse($("samples").textContent);
        const columns = new Map();
        const encoder = new TextEncoder();
        const englishCounts = new Map();
        let generation = 0;

        async function call(op, body) {
          const response = await fetch("/v1/" + op, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
          const answer = await response.json();
          if (answer.error) throw new Error(answer.error.message);
          return answer;
        }

        function readHash() {
          const params = new URLSearchParams(location.hash.slice(1));
          state.vocabs = (params.get("v") || "").split(",").filter((name) => known.vocabs.has(name));
          state.models = (params.get("m") || "").split(",").filter((name) => name !== "");
          state.sample = params.get("s") || "";
          const sample = samples.find((s) => s.language === state.sample);
          state.text = sample ? sample.text : (params.get("t") || "");
          if (!sample) state.sample = "";
        }

        function writeHash() {
          clearTimeout(hashTimer);
          hashTimer = 0;
          const params = new URLSearchParams();
          if (state.vocabs.length) params.set("v", state.vocabs.join(","));
          if (state.models.length) params.set("m", state.models.join(","));
          if (state.sample) params.set("s", state.sample); else if (state.text) params.set("t", state.text);
          history.replaceState(null, "", "#" + params.toString());
        }

        // Typing writes the URL once it pauses: the text goes into the URL whole, which costs a 10 KB text
        // milliseconds a keystroke; the columns do not wait for it.
        let hashTimer = 0;
        function writeHashSoon() {
          clearTimeout(hashTimer);
          hashTimer = setTimeout(writeHash, 300);
        }

        // One encode per vocabulary, its spans as parallel lists (offset_arrays): UTF-16 spans to cut the text
        // with, byte spans for the hover.
        function encode(text, name) {
          return call("encode", { texts: [text], vocab: name, offset_arrays: true });
        }

        const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
        const escaped = (c) => escapes[c];
        function escapeHTML(text) {
          return /[&<>"]/.test(text) ? text.replace(/[&<>"]/g, escaped) : text;
        }

        function format(value, digits) { return Number.isFinite(value) ? value.toFixed(digits) : "–"; }

        function setText(element, text) { if (element.textContent !== text) element.textContent = text; }

        function makeColumn(name) {
          const column = document.createElement("article");
          column.className = "column";
          column.dataset.vocab = name;
          const info = known.vocabs.get(name) || {};
          column.innerHTML = `<h2><span><span class="name"></span><span class="scheme"></span></span><button class="remove" type="button" title="remove">×</button></h2>
            <dl class="stats"><dt>tokens</dt><dd class="count">…</dd><dt>bytes / token</dt><dd class="bpt"></dd>
            <dt>characters / token</dt><dd class="cpt"></dd><dt>parity vs English</dt><dd class="parity">–</dd></dl>
            <dl class="stats costs"></dl><div class="view"></div>`;
          column.querySelector(".name").textContent = name;
          column.querySelector(".scheme").textContent = (info.scheme || "") + (info.vocab_size ? " · " + info.vocab_size.toLocaleString("en") : "");
          column.querySelector(".remove").addEventListener("click", () => removeVocab(name));
          $("columns").appendChild(column);
          const part = (selector) => column.querySelector(selector);
          columns.set(name, {
            element: column, count: part(".count"), bpt: part(".bpt"), cpt: part(".cpt"), parity: part(".parity"),
            costs: part(".costs"), view: part(".view"), blocks: [], ids: [], starts: [], ends: [], bytes: null, spellings: new Map(),
          });
        }

        function addVocab(name) {
          if (!known.vocabs.has(name) || state.vocabs.includes(name)) return;
          state.vocabs.push(name);
          makeColumn(name);
          writeHash();
          update();
        }

        function removeVocab(name) {
          state.vocabs = state.vocabs.filter((v) => v !== name);
          const column = columns.get(name);
          if (column) column.element.remove();
          columns.delete(name);
          writeHash();
        }

        function renderModels() {
          const holder = $("models");
          holder.textContent = "";
          for (const name of state.models) {
            const chip = document.createElement("span");
            chip.className = "chip";
            chip.textContent = name;
            const remove = document.createElement("button");
            remove.type = "button";
            remove.textContent = "×";
            remove.title = "remove";
            remove.addEventListener("click", () => { state.models = state.models.filter((m) => m !== name); renderModels(); writeHash(); update(); });
            chip.appendChild(remove);
            holder.appendChild(chip);
          }
        }

        function codePoints(text) {
          let count = text.length;
          for (let u = 0; u < text.length; u++) {
            const unit = text.charCodeAt(u);
            if (unit >= 0xd800 && unit < 0xdc00 && u + 1 < text.length) {
              const next = text.charCodeAt(u + 1);
              if (next >= 0xdc00 && next < 0xe000) { count--; u++; }
            }
          }
          return count;
        }

        async function update() {
          const mine = ++generation;
          document.body.dataset.pending = String(mine);
          const text = state.text;
          const sample = samples.find((s) => s.language === state.sample && s.language !== "en");
          const names = state.vocabs.slice();  // a column removed while the answers come must not shift them
          const answers = await Promise.all(names.map((name) => encode(text, name).catch((error) => error)));
          if (mine !== generation) return;
          const bytes = encoder.encode(text);
          const characters = codePoints(text);
          setText($("status"), "");
          // Every column is drawn in one pass once all have answered: one layout, not one per column.
          names.forEach((name, index) => {
            const answer = answers[index];
            const column = columns.get(name);
            if (!column) return;
            if (answer instanceof Error) {
              column.blocks = [];
              column.view.innerHTML = `<span class="error">${escapeHTML(answer.message)}</span>`;
              return;
            }
            render(column, text, bytes, characters, answer);
            costs(name, text, mine);
            if (sample) parity(name, sample, answer.ids[0].length, mine);
            else setText(column.parity, "–");
          });
          document.body.dataset.rendered = String(mine);
        }

        function render(column, text, bytes, characters, answer) {
          const ids = answer.ids[0];
          const lists = answer.offset_arrays[0];
          column.ids = ids; column.starts = lists.start; column.ends = lists.end; column.bytes = bytes;
          setText(column.count, ids.length.toLocaleString("en"));
          setText(column.bpt, format(bytes.length / ids.length, 2));
          setText(column.cpt, format(characters / ids.length, 2));
          draw(column, blocks(text, ids.length, lists.utf16_start, lists.utf16_end));
        }

        // The view is cut into blocks, so that a keystroke rebuilds only the blocks whose tokens changed, and the
        // browser lays out only the blocks on screen (content-visibility). A block ends after a line whose text
        // hashes to 0 mod 4 (about every fourth line), or after the first line past BLOCK_MAX tokens; inside a
        // long line, past BLOCK_MIN tokens, after a token whose text with the one before it hashes to 0 mod 64
        // (such a block is "cut": its last line is justified, so the line does not look ended). Where blocks
        // end depends on the text around the end, not on a count from the text's start, so an edit moves no
        // boundary but those near it. A token's span carries its index in its block (data-k); the block, the
        // index of its first token (data-base), so blocks after an edit that adds a token keep their HTML.
        const BLOCK_MIN = 64, BLOCK_MAX = 256;
        const hashOf = (text, from, to, hash) => {
          for (let u = from; u < to; u++) hash = (hash * 31 + text.charCodeAt(u)) | 0;
          return hash;
        };
        function blocks(text, count, starts, ends) {
          const out = [];
          let parts = [], base = 0, k = 0, at = 0, before = 0;
          const close = (next, cut) => { out.push({ html: parts.join(""), base, cut }); parts = []; base = next; k = 0; };
          // Whether a block ends with the line that ends with the line feed at `feed`.
          const boundary = (feed) => k >= BLOCK_MAX || (hashOf(text, text.lastIndexOf("\n", feed - 1) + 1, feed, 7) & 3) === 0;
          // Text no token shows (removed by a normaliser or pre-tokenizer): a block may end at a line in it.
          const plain = (from, to, next) => {
            if (to <= from) return;
            const feed = k > 0 ? text.lastIndexOf("\n", to - 1) : -1;
            if (feed >= from && boundary(feed)) { parts.push(escapeHTML(text.slice(from, feed + 1))); close(next, false); from = feed + 1; }
            if (to > from) parts.push(escapeHTML(text.slice(from, to)));
          };
          for (let i = 0; i < count; i++) {
            let start = starts[i], end = ends[i];
            if (start < at) start = at;  // a token inside a character the one before has shown
            if (end < start) end = start;
            plain(at, start, i);
            parts.push(`<span class="t${k % 5}" data-k="${k}">${escapeHTML(text.slice(start, end))}</span>`);
            k++;
            at = end;
            const hash = hashOf(text, start, end, 7);
            if (i + 1 < count && starts[i + 1] < end) { before = hash; continue; }  // the next token shares a character
            if (text.charCodeAt(end - 1) === 10) { if (boundary(end - 1)) close(i + 1, false); }
            else if (k >= BLOCK_MIN && ((hash * 17 + before) & 63) === 0 && i + 1 < count) close(i + 1, true);
            before = hash;
          }
          plain(at, text.length, count);
          if (parts.length || !out.length) close(count, false);
          return out;
        }

        // Blocks whose HTML is unchanged keep their elements (and their layout); only new ones are parsed. The
        // elements not kept go first, so that the kept ones, already in order, are not moved.
        function draw(column, blocks) {
          const view = column.view;
          const unused = new Map();
          for (const block of column.blocks) {
            const same = unused.get(block.html);
            if (same) same.push(block.element); else unused.set(block.html, [block.element]);
          }
          const kept = blocks.map((block) => { const same = unused.get(block.html); return same && same.shift(); });
          for (const elements of unused.values()) for (const element of elements) element.remove();
          let previous = null;
          blocks.forEach((block, index) => {
            let element = kept[index];
            if (!element) {
              element = document.createElement("div");
              element.innerHTML = block.html;
            }
            if (element.dataset.base !== String(block.base)) element.dataset.base = String(block.base);
            if (element.classList.contains("cut") !== block.cut) element.classList.toggle("cut", block.cut);
            const wanted = previous ? previous.nextSibling : view.firstChild;
            if (element !== wanted) view.insertBefore(element, wanted);
            block.element = element;
            previous = element;
          });
          // Anything else the view held (an error) goes too.
          while (previous.nextSibling) previous.nextSibling.remove();
          column.blocks = blocks;
        }

        async function costs(name, text, mine) {
          const list = columns.get(name).costs;
          if (!state.models.length) { if (list.firstChild) list.textContent = ""; return; }
          const rows = await Promise.all(state.models.map(async (model) => {
            try {
              const answer = await call("cost", { texts: [text], vocab: name, model });
              const usd = answer.input_cost_usd;
              return [model, (usd == null ? "no price" : "$" + usd.toPrecision(3)) + (answer.approximate ? " (estimate)" : "")];
            } catch (error) {
              return [model, error.message.split(";")[0]];
            }
          }));
          if (mine !== generation || !columns.has(name)) return;
          list.textContent = "";
          for (const [model, value] of rows) {
            const dt = document.createElement("dt"), dd = document.createElement("dd");
            dt.textContent = model; dd.textContent = value; dd.className = "cost";
            list.append(dt, dd);
          }
        }

        async function parity(name, sample, tokens, mine) {
          const key = name + "\n" + sample.language;
          if (!englishCounts.has(key)) {
            try { englishCounts.set(key, (await call("count", { texts: [sample.english], vocab: name })).total); } catch (error) { return; }
          }
          if (mine !== generation || !columns.has(name)) return;
          setText(columns.get(name).parity, format(tokens / englishCounts.get(key), 2));
        }

        // The hovered token's index is its block's base plus its own; its spelling is asked of the daemon
        // (decode) the first time, and kept.
        function showTip(event) {
          const target = event.target.closest(".view span[data-k]");
          const tip = $("tip");
          if (!target) { tip.hidden = true; return; }
          const name = target.closest(".column").dataset.vocab;
          const column = columns.get(name);
          const i = Number(target.parentElement.dataset.base) + Number(target.dataset.k);
          const id = column.ids[i], start = column.starts[i], end = column.ends[i];
          const hex = Array.from(column.bytes.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join(" ");
          const show = () => {
            const spelling = column.spellings.get(id);
            tip.textContent = `id ${id}  ${spelling === undefined ? "…" : spelling}\nbytes ${start}–${end}: ${hex}`;
          };
          show();
          tip.dataset.id = String(id);
          tip.hidden = false;
          tip.style.left = (event.clientX + 12) + "px";
          tip.style.top = (event.clientY + 14) + "px";
          if (!column.spellings.has(id)) {
            call("decode", { ids: [[id]], vocab: name }).then((answer) => {
              column.spellings.set(id, answer.lossy[0] ? "(part of a character)" : JSON.stringify(answer.texts[0]));
              if (tip.dataset.id === String(id) && !tip.hidden) show();
            }, () => {});
          }
        }

        async function start() {
          for (const sample of samples) {
            const option = document.createElement("option");
            option.value = sample.language;
            option.textContent = sample.language;
            $("sample").appendChild(option);
          }
          try {
            const list = await call("vocabularies", {});
            for (const vocab of list.vocabularies) {
              known.vocabs.set(vocab.name, vocab);
              const option = document.createElement("option");
              option.value = vocab.name;
              option.textContent = `${vocab.name} (${vocab.scheme})`;
              $("vocab-choice").appendChild(option);
            }
            const models = await call("models", {});
            const fragment = document.createDocumentFragment();
            for (const model of models.models) {
              known.models.set(model.name, model);
              const option = document.createElement("option");
              option.value = model.name;
              fragment.appendChild(option);
            }
            $("model-list").appendChild(fragment);
          } catch (error) {
            $("status").textContent = "The daemon did not answer: " + error.message;
            return;
          }
          readHash();
          if (!location.hash) state.vocabs = ["o200k_base", "llama3", "qwen2.5", "gemma-4"].filter((n) => known.vocabs.has(n));
          $("text").value = state.text;
          $("sample").value = state.sample;
          for (const name of state.vocabs) makeColumn(name);
          renderModels();
          $("text").addEventListener("input", () => {
            state.text = $("text").value;
            if (state.sample) { state.sample = ""; $("sample").value = ""; }
            update();
            writeHashSoon();
          });
          $("sample").addEventListener("change", () => {
            state.sample = $("sample").value;
            const sample = samples.find((s) => s.language === state.sample);
            if (sample) { state.text = sample.text; $("text").value = sample.text; }
            writeHash();
            update();
          });
          $("add-vocab").addEventListener("click", () => addVocab($("vocab-choice").value));
          $("add-model").addEventListener("click", () => {
            const name = $("model-choice").value.trim();
            if (!known.models.has(name)) { $("status").textContent = `unknown model '${name}'`; return; }
            if (!state.models.includes(name)) state.models.push(name);
            $("model-choice").value = "";
            renderModels();
            writeHash();
            update();
          });
          $("columns").addEventListener("mouseover", showTip);
          $("columns").addEventListener("mouseleave", () => { $("tip").hidden = true; });
          window.addEventListener("pagehide", () => { if (hashTimer) writeHash(); });
          window.addEventListener("hashchange", () => {
            readHash();
            for (const name of [...columns.keys()]) if (!state.vocabs.includes(name)) removeVocab(name);
            for (const name of state.vocabs) if (!columns.has(name)) makeColumn(name);
            $("text").value = state.text; $("sample").value = state.sample;
            renderModels();
            update();
          });
          writeHash();
          document.body.dataset.ready = "1";
          update();
        }

        start();
        """#
}
