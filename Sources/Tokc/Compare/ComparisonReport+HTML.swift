import Foundation

extension ComparisonReport {
    /// The report as one self-contained HTML page: inline CSS, inline SVG charts and a few lines of inline
    /// script to sort the tables. Its Content-Security-Policy forbids every fetch (no fonts, images, scripts or
    /// connections from anywhere), so opening it never touches the network.
    public func html() -> [UInt8] {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>tokc compare</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <h1>tokc compare</h1>

            """
        let textLanguages = languages.map(\.code).joined(separator: ", ")
        page += "<p class=\"lead\">\(vocabularies.count) vocabularies on held-out text in \(languages.count) languages (\(Self.escape(textLanguages)))"
        if let parallel {
            page += "; parity against \(Self.escape(parallel.referenceLanguage)) on \(parallel.rows) parallel sentences"
        }
        page += ". Started \(Self.escape(startedText)).</p>\n"
        page += "<p class=\"legend\">" + Scheme.allCases.filter { scheme in vocabularies.contains { $0.scheme == scheme } }.map {
            "<span><i style=\"background:\(Self.color(of: $0))\"></i>\($0.rawValue)</span>"
        }.joined(separator: " ") + "</p>\n"

        if let parallel, !parity.isEmpty {
            page += "<section id=\"parity\">\n<h2>Tokenization parity against \(Self.escape(parallel.referenceLanguage))</h2>\n"
            page += "<p>Tokens for a sentence ÷ tokens for the same sentence in \(Self.escape(parallel.referenceLanguage)), mean over the sentences both have. 1 is parity; 2 means the language pays twice as many tokens for the same content.</p>\n<div class=\"charts\">\n"
            for language in parityLanguages {
                let sentences = parity.first { $0.language == language }?.sentences ?? 0
                page += barChart(
                    title: "\(language) (\(sentences) sentences)",
                    rows: vocabularies.map { vocabulary in
                        let entry = parity(vocabulary.name, language)
                        let unknown = entry?.unknownShare.flatMap { $0 > Self.notableUnknownShare ? " (\(Self.format(100 * $0, digits: 0))% unk)" : nil }
                        return (vocabulary, entry?.mean, unknown ?? "")
                    }, reference: 1, digits: 2)
            }
            page += "</div>\n</section>\n"
        }

        let charted: [(id: String, title: String, note: String, value: (Measurement) -> Double?)] = [
            ("bytes-per-token", "Bytes per token", "UTF-8 bytes of the held-out text ÷ its tokens: more is cheaper.", { $0.bytesPerToken }),
            ("fertility", "Tokens per word (fertility)", "Tokens ÷ words, words found by ICU's word breaking for every language (dictionary-based for Japanese and Chinese): fewer is better.", { $0.fertility }),
        ]
        for chart in charted {
            page += "<section id=\"\(chart.id)\">\n<h2>\(chart.title)</h2>\n<p>\(Self.escape(chart.note))</p>\n<div class=\"charts\">\n"
            for code in languages.map(\.code) + [Self.allLanguages] {
                page += barChart(
                    title: code == Self.allLanguages ? "all languages" : code,
                    rows: vocabularies.map { vocabulary in (vocabulary, measurement(vocabulary.name, code).flatMap(chart.value), "") },
                    reference: nil, digits: 2)
            }
            page += "</div>\n</section>\n"
        }

        page += "<section id=\"measurements\">\n<h2>All measurements</h2>\n<p>Click a column to sort. Definitions: docs/metrics.md.</p>\n"
        page += measurementTable()
        if !parity.isEmpty {
            page += "<h2>Parity table</h2>\n<p>Mean (median) of the per-sentence ratio; “unk” marks languages where over \(Int(100 * Self.notableUnknownShare))% of the tokens are unknown (a word the vocabulary cannot read costs one token, which looks cheap).</p>\n" + parityTable()
        }
        page += "</section>\n"
        page += settingsSection()
        page += "<script>\(Self.script)</script>\n</body>\n</html>\n"
        return Array(page.utf8)
    }

    // MARK: - Charts

    /// A horizontal bar chart, one bar per vocabulary coloured by scheme, with an optional reference line.
    /// Each row's note follows its value (`(60% unk)`).
    private func barChart(title: String, rows: [(Vocabulary, Double?, String)], reference: Double?, digits: Int) -> String {
        let (labelWidth, barWidth, valueWidth, rowHeight, top) = (150.0, 200.0, 90.0, 18.0, 6.0)
        let width = labelWidth + barWidth + valueWidth
        let height = top + rowHeight * Double(rows.count) + 16
        let largest = max(rows.compactMap(\.1).max() ?? 0, reference ?? 0)
        let scale = largest > 0 ? barWidth / (largest * 1.05) : 0
        var svg = "<figure>\n<figcaption>\(Self.escape(title))</figcaption>\n"
        svg += "<svg class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(Self.escape(title))\">\n"
        for (index, (vocabulary, value, note)) in rows.enumerated() {
            let y = top + rowHeight * Double(index)
            svg += "<text x=\"\(Self.f(labelWidth - 6))\" y=\"\(Self.f(y + 12.5))\" text-anchor=\"end\">\(Self.escape(vocabulary.name))</text>"
            if let value {
                let length = max(0.5, value * scale)
                svg += "<rect x=\"\(Self.f(labelWidth))\" y=\"\(Self.f(y + 2))\" width=\"\(Self.f(length))\" height=\"\(Self.f(rowHeight - 4))\" fill=\"\(Self.color(of: vocabulary.scheme))\"><title>\(Self.escape(vocabulary.name)): \(String(format: "%.\(digits + 2)f", value))</title></rect>"
                svg += "<text x=\"\(Self.f(labelWidth + length + 4))\" y=\"\(Self.f(y + 12.5))\">\(String(format: "%.\(digits)f", value))\(Self.escape(note))</text>\n"
            } else {
                svg += "<text x=\"\(Self.f(labelWidth + 4))\" y=\"\(Self.f(y + 12.5))\">–</text>\n"
            }
        }
        if let reference {
            let x = labelWidth + reference * scale
            svg += "<line x1=\"\(Self.f(x))\" x2=\"\(Self.f(x))\" y1=\"\(Self.f(top - 2))\" y2=\"\(Self.f(height - 14))\" class=\"reference\"/>"
            svg += "<text x=\"\(Self.f(x))\" y=\"\(Self.f(height - 3))\" text-anchor=\"middle\" class=\"axis\">\(Self.format(reference, digits: 0))</text>\n"
        }
        svg += "</svg>\n</figure>\n"
        return svg
    }

    // MARK: - Tables

    private func measurementTable() -> String {
        let header = ["vocabulary", "scheme", "language", "tokens", "bytes/token", "characters/token", "tokens/word",
                      "words split %", "unknown %", "byte fallback %", "exact lines %", "vocabulary used %", "encode MB/s"]
        var table = "<table class=\"sortable\" id=\"measurement-table\">\n<thead><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for m in measurements {
            let scheme = vocabularies.first { $0.name == m.vocabulary }?.scheme.rawValue ?? ""
            table += "<tr>" + Self.textCell(m.vocabulary) + Self.textCell(scheme) + Self.textCell(m.language)
            table += Self.numberCell(Double(m.tokens), digits: 0)
            table += Self.numberCell(m.bytesPerToken, digits: 3) + Self.numberCell(m.charactersPerToken, digits: 3)
            table += Self.numberCell(m.fertility, digits: 3)
            for share in [m.splitWordShare, m.unknownShare, m.byteFallbackShare, m.roundTripShare, m.vocabularyUtilisation] {
                table += Self.numberCell(share.map { 100 * $0 }, digits: 2)
            }
            table += Self.numberCell(m.encodeMegabytesPerSecond, digits: 1) + "</tr>\n"
        }
        return table + "</tbody>\n</table>\n"
    }

    private func parityTable() -> String {
        let columns = parityLanguages
        var table = "<table class=\"sortable\" id=\"parity-table\">\n<thead><tr><th>vocabulary</th><th>scheme</th>"
            + columns.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for vocabulary in vocabularies {
            table += "<tr>" + Self.textCell(vocabulary.name) + Self.textCell(vocabulary.scheme.rawValue)
            for language in columns {
                let p = parity(vocabulary.name, language)
                var text = p?.mean.map { mean in Self.format(mean, digits: 3) + " (" + (p?.median.map { Self.format($0, digits: 3) } ?? "–") + ")" } ?? "–"
                if let share = p?.unknownShare, share > Self.notableUnknownShare { text += " <span class=\"unk\" title=\"unknown tokens\">\(Self.format(100 * share, digits: 0))% unk</span>" }
                table += "<td data-v=\"\(p?.mean.map { String($0) } ?? "-1e308")\">\(text)</td>"
            }
            table += "</tr>\n"
        }
        return table + "</tbody>\n</table>\n"
    }

    private func settingsSection() -> String {
        var section = "<section id=\"settings\">\n<h2>Run</h2>\n<ul>\n"
        section += "<li>Started \(Self.escape(startedText)) on a machine with \(ProcessInfo.processInfo.activeProcessorCount) processors; encoding speeds are one thread's, in this run only.</li>\n"
        section += "<li>Held-out text: <code>\(Self.escape(corpusFolder))</code>, languages \(Self.escape(languages.map(\.code).joined(separator: ", "))).</li>\n"
        if let parallel {
            section += "<li>Parity: <code>\(Self.escape(parallel.path))</code>, reference language \(Self.escape(parallel.referenceLanguage)).</li>\n"
        }
        section += "<li>Vocabularies: \(Self.escape(vocabularies.map(\.name).joined(separator: ", "))).</li>\n</ul>\n"
        section += "<h2>Vocabularies</h2>\n<table class=\"sortable\">\n<thead><tr><th>name</th><th>scheme</th><th>origin</th><th>size</th><th>load or training s</th><th>source</th></tr></thead>\n<tbody>\n"
        for vocabulary in vocabularies {
            section += "<tr>" + Self.textCell(vocabulary.name) + Self.textCell(vocabulary.scheme.rawValue) + Self.textCell(vocabulary.origin)
                + Self.numberCell(Double(vocabulary.vocabularySize), digits: 0) + Self.numberCell(vocabulary.preparationSeconds, digits: 2)
                + Self.textCell(vocabulary.source) + "</tr>\n"
        }
        section += "</tbody>\n</table>\n<h2>Corpus</h2>\n"
        section += "<p>Held-out text from <code>\(Self.escape(corpusFolder))</code>: each line is a text, encoded on its own.</p>\n"
        if !corpusProvenance.isEmpty { section += "<blockquote>\(Self.escape(corpusProvenance))</blockquote>\n" }
        section += "<table>\n<thead><tr><th>language</th><th>file</th><th>lines</th><th>bytes</th><th>characters</th><th>words</th><th>sha256</th></tr></thead>\n<tbody>\n"
        for language in languages {
            section += "<tr>" + Self.textCell(language.code) + Self.textCell(language.path)
                + [language.lines, language.bytes, language.characters, language.words].map { Self.numberCell(Double($0), digits: 0) }.joined()
                + "<td><code>\(language.sha256)</code></td></tr>\n"
        }
        section += "</tbody>\n</table>\n"
        if let parallel {
            section += "<p>Parallel sentences: <code>\(Self.escape(parallel.path))</code>, \(parallel.rows) rows, sha256 <code>\(parallel.sha256)</code>; sentences per language: "
                + parallel.sentences.map { "\(Self.escape($0.language)) \($0.count)" }.joined(separator: ", ") + ".</p>\n"
        }
        return section + "</section>\n"
    }

    // MARK: - Pieces

    static func color(of scheme: Scheme) -> String {
        switch scheme {
        case .bpe: return "#4e79a7"
        case .wordpiece: return "#f28e2b"
        case .unigram: return "#59a14f"
        case .ungreedy: return "#b07aa1"
        }
    }

    private static func textCell(_ text: String) -> String { "<td>\(escape(text))</td>" }

    private static func numberCell(_ value: Double?, digits: Int) -> String {
        guard let value else { return "<td class=\"n\" data-v=\"-1e308\">–</td>" }
        return "<td class=\"n\" data-v=\"\(value)\">\(format(value, digits: digits))</td>"
    }

    private static func format(_ value: Double, digits: Int) -> String { String(format: "%.\(digits)f", value) }

    /// An SVG coordinate.
    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    private static let style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
        h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ddd}
        .lead{color:#444}.legend span{margin-right:14px}.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
        .charts{display:flex;flex-wrap:wrap;gap:8px 24px}figure{margin:0}figcaption{font-weight:600;font-size:13px}
        svg.chart{font-size:11px}svg.chart text{fill:#333}svg.chart .reference{stroke:#c00;stroke-dasharray:3 2}svg.chart .axis{fill:#c00}
        table{border-collapse:collapse;font-size:12px;margin:6px 0}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}
        td.n{text-align:right;font-variant-numeric:tabular-nums}table.sortable th{cursor:pointer;background:#f4f4f4}
        th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
        blockquote{color:#555;margin:6px 0 6px 12px}.unk{color:#c00;font-size:11px}code{font-size:11px}
        """

    /// Sorts a table by the clicked column: by `data-v` numbers where cells have them, else by text.
    private static let script = """
        (function(){
        document.querySelectorAll('table.sortable th').forEach(function(th){
          th.addEventListener('click',function(){
            var table=th.closest('table'),body=table.tBodies[0];
            var column=Array.prototype.indexOf.call(th.parentNode.children,th);
            var ascending=th.getAttribute('aria-sort')!=='ascending';
            table.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
            th.setAttribute('aria-sort',ascending?'ascending':'descending');
            var rows=Array.prototype.slice.call(body.rows);
            rows.sort(function(a,b){
              var x=a.cells[column],y=b.cells[column];
              var order=(x.dataset.v!==undefined&&y.dataset.v!==undefined)?parseFloat(x.dataset.v)-parseFloat(y.dataset.v):x.textContent.localeCompare(y.textContent);
              return ascending?order:-order;
            });
            rows.forEach(function(row){body.appendChild(row);});
          });
        });
        document.documentElement.setAttribute('data-sortable','ready');
        })();
        """
}
