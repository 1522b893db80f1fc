"""Count the tokens of a dataset on Apache Spark, with tokc as each partition's worker.

Spark splits the data and runs one `tokc count --json -` per partition, fed through the process's standard
input; the driver adds up what each prints. tokc must be installed on every node (scripts/install.sh), or
shipped with `--files` and named by `--tokc`.

    spark-submit examples/spark/count_tokens.py --vocab o200k_base --jsonl --field text 'data/*.jsonl'
    spark-submit examples/spark/count_tokens.py --by files --vocab o200k_base,llama3 'books/*.txt.gz'

Two ways to split the data, each giving exactly what one `tokc count` over the same data gives:

  --by lines  (with --jsonl; the default there) JSON Lines records spread over the partitions, many to a file.
              Each record counts alone, so the split does not change a count. Line numbers in an error are
              within the partition.
  --by files  (any input: text, CSV, gzip; the default without --jsonl) one whole file to one tokc, so a plain
              text is counted exactly as `tokc count FILE` counts it. A file must fit an executor's memory.

The result is one JSON object on standard output: per vocabulary its total tokens (and, for records, the
records, min and max tokens per record, skipped records), plus the input bytes tokc read. Percentiles do not
add across partitions; run `tokc count` on the whole for them.
"""

import argparse
import json
import subprocess
import sys


def tokc_arguments(options):
    """The `tokc count` options every partition runs with (standard input, JSON out)."""
    arguments = ["count", "--json"]
    if options.vocab:
        arguments += ["--vocab", options.vocab]
    if options.jsonl:
        arguments += ["--jsonl"] + (["--field", options.field] if options.field else [])
    if options.csv or options.tsv:
        arguments += ["--csv" if options.csv else "--tsv", "--column", options.column]
    if options.skip_bad:
        arguments.append("--skip-bad")
    if options.allow_special:
        arguments.append("--allow-special")
    # One core a partition: Spark already runs a task on each core.
    return arguments + ["--threads", "1", "-"]


def vocab_results(printed):
    """tokc's JSON for one input, as a list of per-vocabulary objects (one vocabulary prints no "vocabs")."""
    document = json.loads(printed)
    return document["vocabs"] if "vocabs" in document else [document]


def summarise(printed):
    """What one tokc run printed, reduced to numbers that add up: [{vocab, bytes, total, records, min, max, skipped}]."""
    summary = []
    for vocab in vocab_results(printed):
        files = vocab["files"]
        item = {"vocab": vocab["vocab"], "bytes": sum(f["bytes"] for f in files), "total": vocab["total"]}
        if "records" in vocab:
            distribution = vocab.get("distribution") or {}
            item.update(records=vocab["records"], text_bytes=vocab["text_bytes"], skipped=vocab.get("skipped", 0),
                        min=distribution.get("min"), max=distribution.get("max"))
        summary.append(item)
    return summary


def combine(left, right):
    """Two summaries of the same vocabularies added together."""
    combined = []
    for a, b in zip(left, right):
        item = dict(a)
        for key in ("bytes", "total", "records", "text_bytes", "skipped"):
            if key in a:
                item[key] = a[key] + b[key]
        for key, pick in (("min", min), ("max", max)):
            if key in a:
                present = [v for v in (a[key], b[key]) if v is not None]
                item[key] = pick(present) if present else None
        combined.append(item)
    return combined


def run_tokc(tokc, arguments, data):
    """`tokc ARGUMENTS` with `data` (bytes) on its standard input; its JSON output, or an error with its message."""
    process = subprocess.run([tokc] + arguments, input=data, capture_output=True)
    if process.returncode != 0:
        raise RuntimeError(f"tokc {' '.join(arguments)} exited {process.returncode}: {process.stderr.decode(errors='replace').strip()}")
    return process.stdout.decode()


def count_lines(lines, tokc, arguments):
    """One partition of JSON Lines records, streamed through one tokc process (its input never held whole)."""
    process = subprocess.Popen([tokc] + arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # tokc reads as it counts, so its output (one line at the end) cannot fill the pipe while this writes.
    for line in lines:
        process.stdin.write(line.encode("utf-8") + b"\n")
    process.stdin.close()
    printed = process.stdout.read()
    error = process.stderr.read()
    if process.wait() != 0:
        raise RuntimeError(f"tokc {' '.join(arguments)} exited {process.returncode}: {error.decode(errors='replace').strip()}")
    yield summarise(printed.decode())


def count_files(files, tokc, arguments):
    """Whole files, one tokc run each (gzip is read as its text by tokc itself)."""
    for _, data in files:
        yield summarise(run_tokc(tokc, arguments, bytes(data)))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Count a dataset's tokens on Spark with tokc.")
    parser.add_argument("inputs", nargs="+", help="files, folders or globs Spark can read (local, HDFS, S3 ...)")
    parser.add_argument("--vocab", help="as tokc count --vocab: a name, or several separated by commas")
    parser.add_argument("--jsonl", action="store_true")
    parser.add_argument("--field")
    parser.add_argument("--csv", action="store_true")
    parser.add_argument("--tsv", action="store_true")
    parser.add_argument("--column")
    parser.add_argument("--skip-bad", action="store_true")
    parser.add_argument("--allow-special", action="store_true")
    parser.add_argument("--by", choices=["lines", "files"], help="how to split the data (see the module's doc)")
    parser.add_argument("--partitions", type=int, help="at least this many partitions (default: Spark's)")
    parser.add_argument("--tokc", default="tokc", help="the tokc executable on the executors (default: tokc on PATH)")
    parser.add_argument("--master", help="Spark's master, when not run by spark-submit (local[4], spark://host:7077)")
    options = parser.parse_args(argv)
    by = options.by or ("lines" if options.jsonl else "files")
    if by == "lines" and not options.jsonl:
        parser.error("--by lines needs --jsonl: a plain text or CSV cut between lines would not count as one file does")
    if (options.csv or options.tsv) != bool(options.column):
        parser.error("--csv and --tsv need --column")

    from pyspark.sql import SparkSession  # here, so that --help works without Spark

    builder = SparkSession.builder.appName("tokc count")
    if options.master:
        builder = builder.master(options.master)
    spark = builder.getOrCreate()
    context = spark.sparkContext
    arguments = tokc_arguments(options)
    tokc = options.tokc
    inputs = ",".join(options.inputs)
    if by == "lines":
        rdd = context.textFile(inputs, minPartitions=options.partitions) if options.partitions else context.textFile(inputs)
        summaries = rdd.mapPartitions(lambda lines: count_lines(lines, tokc, arguments))
    else:
        rdd = context.binaryFiles(inputs, minPartitions=options.partitions) if options.partitions else context.binaryFiles(inputs)
        summaries = rdd.mapPartitions(lambda files: count_files(files, tokc, arguments))
    # A partition with no records still prints its vocabularies, so every summary has the same shape.
    result = summaries.reduce(combine)
    partitions = summaries.getNumPartitions()
    spark.stop()
    print(json.dumps({"by": by, "partitions": partitions, "vocabs": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
