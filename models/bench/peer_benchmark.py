#!/usr/bin/env python3
"""captionfn against the peer a user would pick instead, on the same model, in one run.

For one model (by default a 150M-parameter random InstructBLIP: ViT 384 x 6, Q-Former 384 x 4,
LLaMA 768 x 12, 32 queries), exported by models/export at each precision asked for:

- captionfn: the packaged application (target/quarkus-app) as its own process, one caption at a
  time over HTTP from images served on loopback; ms per caption as the client sees it, and the
  model's share (the result's visionMs + generateMs);
- bare ONNX Runtime: the three graphs in a tight Python loop on prepared inputs, the same steps
  and rows as the search (prefill, then one step per new token, beams gathered), no search logic;
- HF transformers: PyTorch in eager mode (no torch.compile) with the attention transformers picks
  by default (sdpa), `generate()` on the same weights, from the image through the processor.

Each side gets the same number of threads (--threads): ONNX Runtime's intra-op threads for
captionfn and the bare loop, torch.set_num_threads for transformers. Greedy and 5-beam decoding
with the mmpretrain caption recipe (repetition penalty 1.5, up to 30 new tokens).

With --agreement, the trained default model's checkpoint (models/tiny/checkpoint) is exported at
the same precisions and captionfn's captions at each precision are compared with its fp32 ones on
the held-out drawings (src/test/resources/tiny-reference) and the photos.

Run from the repository root after `./mvnw -B package -DskipTests`, with the exporter's
requirements installed (the venv .ci/run makes):
    .venv-export/bin/python models/bench/peer_benchmark.py --threads 2 --agreement
It prints a table and writes target/peer-benchmark.json. Every request goes to 127.0.0.1.
"""
import argparse
import functools
import http.server
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "export"))
EXPORTER = os.path.join(ROOT, "models", "export", "export_model.py")
RESOURCES = os.path.join(ROOT, "src", "test", "resources")
APP = os.path.join(ROOT, "target", "quarkus-app", "quarkus-run.jar")
# the application is built for Java 25: JAVA_HOME's java where it is set (as .ci/run sets it)
JAVA = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
DEFAULT_CHECKPOINT = os.path.join(ROOT, "models", "tiny", "checkpoint")
PHOTOS = ["images/photos/bird.JPEG", "images/photos/demo.JPEG", "images/photos/dog.jpg",
          "images/photos/Confusing-Pictures.jpg", "images/photos/camera.png", "images/photos/chelsea.png"]
MODES = {"greedy": 1, "beam": 5}


def log(message):
    print(f"[peer-bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
def export(work, name, precision, source_args, extra=()):
    """The model directory for source_args at precision, exported once into work/ and reused."""
    out = os.path.join(work, f"{name}-{precision}")
    if os.path.exists(os.path.join(out, "model.json")):
        return out
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, EXPORTER, *source_args, "--precision", precision, "--out", out, "--quiet", *extra]
    log(" ".join(command[1:]))
    started = time.monotonic()
    subprocess.run(command, check=True)
    log(f"exported {name} {precision} in {time.monotonic() - started:.0f} s")
    return out


def random_checkpoint(work, size, seed):
    """The random model saved as an HF checkpoint, so that every precision and transformers itself
    load the very same weights through the exporter's checkpoint path."""
    out = os.path.join(work, f"hf-random-{size}")
    if os.path.exists(os.path.join(out, "config.json")):
        return out
    from captionfn_export import tiny_random
    model, processor, _ = tiny_random.build("instructblip", seed, size=size)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def model_bytes(model_dir):
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    files = [g["file"] for g in manifest["graphs"].values()]
    files += [d["file"] for g in manifest["graphs"].values() for d in g.get("data", [])]
    return sum(os.path.getsize(os.path.join(model_dir, f)) for f in files)


def parameters(checkpoint):
    import torch
    from transformers import InstructBlipForConditionalGeneration
    model = InstructBlipForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.float32)
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Loopback image server and the captionfn process
# ---------------------------------------------------------------------------------------------
class ImageServer:
    def __init__(self, directory):
        handler = functools.partial(_QuietHandler, directory=directory)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, resource):
        return f"http://127.0.0.1:{self.server.server_address[1]}/{resource}"

    def close(self):
        self.server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Captionfn:
    """The packaged application on a free loopback port, serving model_dir with `threads`."""
    LISTENING = re.compile(r"Listening on: http://[^\s]+:(\d+)")

    def __init__(self, model_dir, threads, jvm_options=("-Xmx1g",)):
        if not os.path.exists(APP):
            raise SystemExit(f"package the application first (./mvnw -B package -DskipTests): {APP} is missing")
        command = [JAVA, *jvm_options, "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=0",
                   f"-Dcaptionfn.model.dir={model_dir}", f"-Dcaptionfn.model.intra-op-threads={threads}",
                   "-Dcaptionfn.fetch.allow-private-addresses=true", "-jar", APP]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log = []
        self.port = None
        deadline = time.monotonic() + 300
        for line in self.process.stdout:
            self.log.append(line)
            m = self.LISTENING.search(line)
            if m:
                self.port = int(m.group(1))
                break
            if time.monotonic() > deadline:
                break
        if self.port is None:
            self.close()
            raise RuntimeError("captionfn did not start:\n" + "".join(self.log[-30:]))
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_ready(deadline)

    def _drain(self):
        for line in self.process.stdout:
            self.log.append(line)

    def _wait_ready(self, deadline):
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/q/health/ready", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("captionfn never became ready:\n" + "".join(self.log[-30:]))

    def caption(self, image_url, num_beams, instruction=None):
        body = {"imageUrl": image_url, "options": {"numBeams": num_beams}}
        if instruction:
            body["prompt"] = instruction
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/caption", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as r:
            result = json.loads(r.read())
        return (time.perf_counter() - started) * 1000, result

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def measure_captionfn(model_dir, images, threads, rounds):
    app = Captionfn(model_dir, threads)
    try:
        out = {}
        for mode, beams in MODES.items():
            app.caption(images[0], beams)  # warm-up: the first run of each shape
            wall, model, captions, stages = [], [], [], []
            for _ in range(rounds):
                for url in images:
                    ms, result = app.caption(url, beams)
                    wall.append(ms)
                    model.append(result["timings"]["visionMs"] + result["timings"]["generateMs"])
                    captions.append(result["caption"])
                    stages.append(result["timings"])
            out[mode] = {"msPerCaption": statistics.mean(wall), "modelMsPerCaption": statistics.mean(model),
                         "stagesMs": {k: statistics.mean(t[k] for t in stages) for k in stages[0]},
                         "captions": captions[: len(images)]}
            log(f"captionfn {os.path.basename(model_dir)} {mode}: {out[mode]['msPerCaption']:.0f} ms "
                f"(model {out[mode]['modelMsPerCaption']:.0f} ms)")
        return out
    finally:
        app.close()


# ---------------------------------------------------------------------------------------------
# The peers: bare ONNX Runtime and HF transformers
# ---------------------------------------------------------------------------------------------
def hf_inputs(processor, path, prompt):
    from PIL import Image
    return processor(images=Image.open(path).convert("RGB"), text=prompt, return_tensors="pt")


def generation_options(manifest, beams):
    g = manifest["generation"]
    return dict(num_beams=beams, max_new_tokens=g["max_new_tokens"], min_new_tokens=g["min_new_tokens"],
                repetition_penalty=g["repetition_penalty"], length_penalty=g["length_penalty"],
                early_stopping=g["early_stopping"], do_sample=False,
                eos_token_id=manifest["llm"]["eos_ids"], pad_token_id=manifest["llm"]["pad_id"])


def measure_transformers(checkpoint, manifest, paths, threads, rounds):
    import torch
    from transformers import AutoProcessor, InstructBlipForConditionalGeneration
    torch.set_num_threads(threads)
    # what a user gets by default: eager mode, transformers' default attention (sdpa; eager attention
    # measured the same here)
    model = InstructBlipForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(checkpoint)
    prompt = manifest["prompt"]
    out = {}
    for mode, beams in MODES.items():
        options = generation_options(manifest, beams)
        with torch.no_grad():
            model.generate(**hf_inputs(processor, paths[0], prompt), **options)
            times, new_tokens = [], []
            for _ in range(rounds):
                for path in paths:
                    started = time.perf_counter()
                    inputs = hf_inputs(processor, path, prompt)
                    ids = model.generate(**inputs, **options)
                    times.append((time.perf_counter() - started) * 1000)
                    new_tokens.append(ids.shape[1] - inputs["input_ids"].shape[1])
        out[mode] = {"msPerCaption": statistics.mean(times), "newTokens": statistics.mean(new_tokens),
                     "attention": model.config.text_config._attn_implementation}
        log(f"transformers {mode}: {out[mode]['msPerCaption']:.0f} ms ({out[mode]['newTokens']:.1f} new tokens)")
    return out


def measure_bare_onnxruntime(model_dir, manifest, checkpoint, paths, threads, rounds, new_tokens):
    """The graphs alone: vision, the prompt's embedding, prefill and one decoder step per further
    token on `rows` rows, the KV cache gathered by beam index between steps as a beam search does
    (by numpy for a format 1 decoder, by its beam_idx input for format 2: onnx_run.OnnxModel);
    the tokens fed are the rows' argmax (what they are does not change the work)."""
    import numpy as np
    from captionfn_export import onnx_run
    from transformers import AutoProcessor
    model = onnx_run.OnnxModel(model_dir, manifest, threads=threads)
    processor = AutoProcessor.from_pretrained(checkpoint)
    llm = manifest["llm"]
    prompt_ids = ([llm["bos_id"]] if llm["bos_id"] is not None else []) + \
        processor.tokenizer(manifest["prompt"], add_special_tokens=False).input_ids

    def caption(path, rows):
        inputs = hf_inputs(processor, path, manifest["prompt"])
        lang = model.vision(inputs["pixel_values"].numpy(), inputs["qformer_input_ids"].numpy(),
                            inputs["qformer_attention_mask"].numpy())
        embeds = np.concatenate([lang, model.embed([prompt_ids])], axis=1)
        total = embeds.shape[1]
        past, b, sources = model.empty_past(1), 1, None
        for step in range(new_tokens):
            logits, past = model.decode(embeds, past, total, sources)
            logits = logits[:, : llm["vocab_size"]]
            if step == new_tokens - 1:
                break
            order = np.argsort(-logits.max(axis=1))[:rows] if b > 1 else np.zeros(rows, dtype=np.int64)
            tokens = logits.argmax(axis=1)[order]
            sources, b = order, rows
            embeds = model.embed(tokens[:, None])
            total += 1

    out = {}
    for mode, beams in MODES.items():
        caption(paths[0], beams)
        times = []
        for _ in range(rounds):
            for path in paths:
                started = time.perf_counter()
                caption(path, beams)
                times.append((time.perf_counter() - started) * 1000)
        out[mode] = {"msPerCaption": statistics.mean(times)}
        log(f"bare onnxruntime {os.path.basename(model_dir)} {mode}: {out[mode]['msPerCaption']:.0f} ms")
    return out


# ---------------------------------------------------------------------------------------------
# Agreement of quantised captions with fp32 on the trained default model
# ---------------------------------------------------------------------------------------------
def held_out_cases():
    with open(os.path.join(RESOURCES, "tiny-reference", "reference.json"), encoding="utf-8") as f:
        return [c for c in json.load(f)["cases"] if c.get("expected") is not None]


def agreement(dirs, threads, server):
    cases = held_out_cases()
    captions = {}
    for precision, model_dir in dirs.items():
        app = Captionfn(model_dir, threads)
        try:
            got = {}
            for mode, beams in MODES.items():
                drawings = [app.caption(server.url(c["image"]), beams, c["instruction"])[1]["caption"] for c in cases]
                photos = [app.caption(server.url(p), beams)[1]["caption"] for p in PHOTOS]
                got[mode] = {"drawings": drawings, "photos": photos}
            captions[precision] = got
        finally:
            app.close()
    report = {}
    for precision, got in captions.items():
        report[precision] = {}
        for mode in MODES:
            d, p = got[mode]["drawings"], got[mode]["photos"]
            fp32 = captions["fp32"][mode]
            report[precision][mode] = {
                "heldOutAccuracy": sum(a == c["expected"] for a, c in zip(d, cases)) / len(cases),
                "agreesWithFp32Drawings": sum(a == b for a, b in zip(d, fp32["drawings"])) / len(cases),
                "agreesWithFp32Photos": sum(a == b for a, b in zip(p, fp32["photos"])) / len(PHOTOS),
            }
        log(f"agreement {precision}: {report[precision]}")
    return report


# ---------------------------------------------------------------------------------------------
def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import onnxruntime
    import torch
    import transformers
    java = subprocess.run([JAVA, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "java": java,
            "torch": torch.__version__, "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__}


def table(report):
    lines = ["| precision | model files | captionfn greedy | captionfn 5 beams | bare ORT greedy | bare ORT 5 beams |",
             "|---|---|---|---|---|---|"]
    for precision, r in report["precisions"].items():
        c, b = r["captionfn"], r["bareOnnxruntime"]
        lines.append(f"| {precision} | {r['modelBytes'] / 1e6:.0f} MB | {c['greedy']['msPerCaption']:.0f} ms "
                     f"(model {c['greedy']['modelMsPerCaption']:.0f}) | {c['beam']['msPerCaption']:.0f} ms "
                     f"(model {c['beam']['modelMsPerCaption']:.0f}) | {b['greedy']['msPerCaption']:.0f} ms | "
                     f"{b['beam']['msPerCaption']:.0f} ms |")
    hf = report["transformers"]
    lines.append(f"| transformers (PyTorch eager mode, fp32) | | {hf['greedy']['msPerCaption']:.0f} ms | "
                 f"{hf['beam']['msPerCaption']:.0f} ms | | |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads for every side (default 2)")
    p.add_argument("--precisions", default="fp32,int8,int4", help="comma-separated (default fp32,int8,int4)")
    p.add_argument("--size", default="bench150m", help="the random model's size preset (default bench150m)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=3, help="passes over the photos per measurement (default 3)")
    p.add_argument("--work", default=os.path.join(ROOT, "target", "peer-bench"), help="exports are kept here")
    p.add_argument("--agreement", action="store_true",
                   help="also compare quantised captions with fp32 on the trained default model")
    p.add_argument("--decoder-contract", choices=["1", "2"], default="2",
                   help="the exports' decoder contract (default 2: captionfn decodes it bound, I/O binding)")
    p.add_argument("--out", default=os.path.join(ROOT, "target", "peer-benchmark.json"))
    args = p.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    precisions = [s.strip() for s in args.precisions.split(",") if s.strip()]
    if "fp32" not in precisions:
        raise SystemExit("--precisions must include fp32: every ratio is against it")

    checkpoint = random_checkpoint(args.work, args.size, args.seed)
    contract = ["--decoder-contract", args.decoder_contract]
    dirs = {pr: export(args.work, f"random-{args.size}-v{args.decoder_contract}", pr, ["--checkpoint", checkpoint], contract)
            for pr in precisions}
    with open(os.path.join(dirs["fp32"], "model.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    server = ImageServer(RESOURCES)
    urls = [server.url(p) for p in PHOTOS]
    paths = [os.path.join(RESOURCES, p) for p in PHOTOS]
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "threads": args.threads, "model": {"checkpoint": os.path.relpath(checkpoint, ROOT),
                                                 "size": args.size, "parameters": parameters(checkpoint)},
              "images": PHOTOS, "rounds": args.rounds, "generation": manifest["generation"],
              "decoderContract": int(args.decoder_contract), "precisions": {}}
    try:
        report["transformers"] = measure_transformers(checkpoint, manifest, paths, args.threads, args.rounds)
        new_tokens = manifest["generation"]["max_new_tokens"]
        for precision, model_dir in dirs.items():
            report["precisions"][precision] = {
                "modelBytes": model_bytes(model_dir),
                "captionfn": measure_captionfn(model_dir, urls, args.threads, args.rounds),
                "bareOnnxruntime": measure_bare_onnxruntime(model_dir, manifest, checkpoint, paths, args.threads,
                                                            args.rounds, new_tokens),
            }
        fp32 = report["precisions"]["fp32"]["captionfn"]
        for precision, r in report["precisions"].items():
            r["speedupOverFp32"] = {m: fp32[m]["msPerCaption"] / r["captionfn"][m]["msPerCaption"] for m in MODES}
            r["captionfnModelOverBare"] = {m: r["captionfn"][m]["modelMsPerCaption"] / r["bareOnnxruntime"][m]["msPerCaption"]
                                           for m in MODES}
        report["transformersOverCaptionfnFp32"] = {
            m: report["transformers"][m]["msPerCaption"] / fp32[m]["msPerCaption"] for m in MODES}
        if args.agreement:
            tiny = {pr: export(args.work, f"default-v{args.decoder_contract}", pr, ["--checkpoint", DEFAULT_CHECKPOINT], contract)
                    for pr in precisions}
            report["agreement"] = agreement(tiny, args.threads, server)
    finally:
        server.close()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(table(report))
    print(json.dumps({k: report[k] for k in ("transformersOverCaptionfnFp32",)}, indent=1))
    for precision, r in report["precisions"].items():
        print(precision, "speed-up over fp32:", {m: round(v, 2) for m, v in r["speedupOverFp32"].items()},
              "captionfn model time / bare ORT:", {m: round(v, 2) for m, v in r["captionfnModelOverBare"].items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
