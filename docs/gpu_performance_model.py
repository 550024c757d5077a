#!/usr/bin/env python3
"""captionfn's GPU performance model: every computed figure of docs/gpu-performance.md.

Run `python3 docs/gpu_performance_model.py`; it prints the document's tables (standard library
only; it measures nothing and reads nothing from disk). The inputs are the constants below, each with
where it comes from; change one and every table follows. Bytes are decimal (MB = 1e6, GB = 1e9);
the KV cache per position is binary because it is 2^k elements.
"""

# --- Vicuna-7B (LLaMA-7B architecture; HF Salesforce/instructblip-vicuna-7b text_config) ---------
LAYERS = 32
HIDDEN = 4096
HEADS = 32
KV_HEADS = 32            # no grouped-query attention in LLaMA-1/Vicuna-7B
HEAD_SIZE = HIDDEN // HEADS  # 128
INTERMEDIATE = 11008     # SwiGLU width
VOCAB = 32001            # LLaMA's 32,000 plus the [PAD] LAVIS adds (embeddings resized to 32,001)

# --- The vision side: EVA ViT-g/14 (39 of its 40 blocks, as LAVIS/HF use it) and the Q-Former -----
VIT_BLOCKS = 39
VIT_WIDTH = 1408
VIT_MLP = 6144
VIT_TOKENS = 257         # (224/14)^2 patches + CLS
QF_LAYERS = 12           # bert-base: hidden 768, FFN 3072, cross-attention every 2nd layer
QF_HIDDEN = 768
QF_FFN = 3072
QF_VOCAB = 30523         # bert-base-uncased plus [DEC]
QF_TEXT_TOKENS = 10      # "[CLS] write a short description for the image . [SEP]" (bert tokenizer)
QUERIES = 32

# --- The mmpretrain recipe (instructblip-vicuna7b_3rdparty-zeroshot_caption, LAVIS semantics) -----
PROMPT_TOKENS = 9        # BOS + 8 LLaMA tokens of "Write a short description for the image."
PREFILL = QUERIES + PROMPT_TOKENS  # 41 positions
BEAMS = 5
MAX_NEW = 30
STEPS = MAX_NEW - 1      # prefill yields token 1; steps 1..29 yield tokens 2..30
MAX_ROWS = 40            # captionfn.batch.max-rows: 8 five-beam requests

# --- Hardware (vendor data sheets) --------------------------------------------------------------
PCIE = {"Gen4 x16": 25e9, "Gen5 x16": 50e9}  # effective host<->device bytes/s, each direction
GPUS = {
    # HBM bytes/s and dense fp16/bf16 tensor FLOP/s (no sparsity)
    "H100 SXM": {"bw": 3.35e12, "flops": 989e12},
    "A100 80GB SXM": {"bw": 2.039e12, "flops": 312e12},
}

# --- Measured on this project's development machine (2 cores of an AMD EPYC, OpenJDK 17) --------
# Java copying a present out of ONNX Runtime (getFloatBuffer: native -> new heap buffer) and into
# the reused gather buffer: 5.2-5.4 GB/s per copy, single thread, 46 MB tensors.
HOST_COPY = 5.2e9
# captionfn's LogSoftmax + TopK over 5 x 32,001 logits: 1.18-1.25 ms per search step; the batch's
# searches run one after another on the micro-batcher's thread, so it scales with rows.
SEARCH_MS_PER_ROW = 1.18 / 5

# --- Published anchors quoted in issue 18 (not measured here) -----------------------------------
ANCHORS = [
    # (what, GPU, ms per token, decoder weight params read per token, vocab rows in the embedding)
    ("TensorRT-LLM, Llama-2-7B", "H100 SXM", 7.7, None, 32000),
    ("vLLM, Llama-3-8B", "A100 80GB SXM", 13.0, 8.030e9, 128256),
]

FP32, FP16 = 4, 2


def vicuna_params(vocab=VOCAB):
    per_layer = 4 * HIDDEN * HIDDEN + 3 * HIDDEN * INTERMEDIATE + 2 * HIDDEN  # attn, MLP, 2 norms
    embedding = vocab * HIDDEN
    head = vocab * HIDDEN
    decoder_graph = LAYERS * per_layer + HIDDEN + head  # what decoder.onnx holds
    return {"embedding": embedding, "decoder_graph": decoder_graph, "total": embedding + decoder_graph}


def vit_params():
    block = 4 * VIT_WIDTH * VIT_WIDTH + 2 * VIT_WIDTH * VIT_MLP + 4 * VIT_WIDTH + VIT_MLP + 5 * VIT_WIDTH
    return VIT_BLOCKS * block + 3 * 14 * 14 * VIT_WIDTH + VIT_TOKENS * VIT_WIDTH + VIT_WIDTH


def qformer_params():
    self_attn = 4 * QF_HIDDEN * QF_HIDDEN
    ffn = 2 * QF_HIDDEN * QF_FFN  # queries and text have an FFN each
    cross = 2 * QF_HIDDEN * QF_HIDDEN + 2 * VIT_WIDTH * QF_HIDDEN
    layers = QF_LAYERS * (self_attn + 2 * ffn) + (QF_LAYERS // 2) * cross
    return layers + QF_VOCAB * QF_HIDDEN + 512 * QF_HIDDEN + QUERIES * QF_HIDDEN + QF_HIDDEN * HIDDEN


def vision_flops():
    """One image: ViT-g over 257 tokens, Q-Former over 32 queries + 10 text tokens, projection."""
    vit = 2 * vit_params() * VIT_TOKENS + VIT_BLOCKS * 4 * VIT_TOKENS * VIT_TOKENS * VIT_WIDTH
    q_tokens = QUERIES + QF_TEXT_TOKENS
    qf = QF_LAYERS * 2 * (4 * QF_HIDDEN * QF_HIDDEN + 2 * QF_HIDDEN * QF_FFN) * q_tokens
    qf += (QF_LAYERS // 2) * 2 * (2 * QF_HIDDEN * QF_HIDDEN * QUERIES + 2 * VIT_WIDTH * QF_HIDDEN * VIT_TOKENS)
    return vit + qf + 2 * QF_HIDDEN * HIDDEN * QUERIES


def kv_per_position(kv_bytes):
    """One row's key + value cache for one position, every layer."""
    return 2 * LAYERS * KV_HEADS * HEAD_SIZE * kv_bytes


# --- Bytes across PCIe and through host memory for one decoder step -----------------------------

def step_io(path, rows, past, kv_bytes, prev_rows=None, seq=1):
    """Bytes of one decoder run (`seq` new positions per row, past `past`) plus its embed run.

    before: today's OnnxDecoderState on a GPU provider: every OnnxTensor is host memory, so ONNX
    Runtime copies each past in and each present (and the v1 graph's logits for every position)
    out; a reorder copies the presents out of ONNX Runtime (getFloatBuffer) and gathers them.
    after: contract v2 + I/O binding: presents stay on the device as next step's pasts, the graph
    gathers rows by beam_idx, only small inputs go in and last-position logits come out.
    """
    prev_rows = rows if prev_rows is None else prev_rows
    kv = kv_per_position(kv_bytes)
    small_in = rows * seq * 8 + rows * seq * 8 + rows * (past + seq) * 8  # ids, positions, mask
    embeds = rows * seq * HIDDEN * FP32  # the embed graph's output goes out and back in
    h2d = small_in + embeds
    d2h = embeds
    host = 0
    if path == "before":
        h2d += rows * past * kv
        d2h += rows * (past + seq) * kv + rows * seq * VOCAB * FP32
        reorder = past > 0 and not (rows == prev_rows == 1)  # greedy's single row feeds back as is
        if reorder:
            host = prev_rows * past * kv + rows * past * kv  # getFloatBuffer copy + gather
    else:
        h2d += rows * 8  # beam_idx
        d2h += rows * VOCAB * FP32
    return {"h2d": h2d, "d2h": d2h, "host": host}


# --- The device's own work for one decoder step -------------------------------------------------

def device_step(path, rows, past, kv_bytes, gpu, seq=1, efficiency=1.0):
    """Memory floor vs compute floor (the larger wins), divided by the efficiency reached.

    HBM traffic: every fp16 weight of decoder.onnx once, plus the cache: v1 reads the past for the
    Concat, writes the present, reads it in attention (3x); v2 also gathers first (5x).
    """
    p = vicuna_params()["decoder_graph"]
    kv_traffic = (3 if path == "before" else 5) * rows * past * kv_per_position(kv_bytes)
    mem = p * FP16 + kv_traffic
    head = 2 * VOCAB * HIDDEN * rows * (seq - 1) if path == "before" else 0  # v1: LM head on every position
    flops = 2 * (p - VOCAB * HIDDEN) * rows * seq + 2 * VOCAB * HIDDEN * rows + head
    flops += 4 * rows * seq * (past + seq) * HIDDEN * LAYERS  # QK^T and AV
    g = GPUS[gpu]
    mem_s, flop_s = mem / g["bw"], flops / g["flops"]
    return {"mem_bytes": mem, "kv_traffic": kv_traffic, "flops": flops, "mem_s": mem_s, "flop_s": flop_s,
            "s": max(mem_s, flop_s) / efficiency}


def anchor_efficiency():
    """Share of the HBM floor that the published engines reach per token, one per GPU."""
    out = {}
    for what, gpu, ms, params, vocab in ANCHORS:
        if params is None:
            read = vicuna_params(vocab)["decoder_graph"]  # Llama-2-7B has Vicuna-7B's shape
        else:
            read = params - vocab * HIDDEN  # Llama-3-8B: everything but the input embedding
        floor_ms = read * FP16 / GPUS[gpu]["bw"] * 1e3
        out[gpu] = (what, ms, floor_ms, floor_ms / ms)
    return out


def vision_s(gpu, images, efficiency):
    g = GPUS[gpu]
    weights = (vit_params() + qformer_params()) * FP16
    return max(weights / g["bw"], images * vision_flops() / g["flops"]) / efficiency


def caption(path, gpu, kv_bytes, images, pcie_bw, efficiency, new_tokens=MAX_NEW, host_copy=HOST_COPY):
    """ms for `images` five-beam captions decoded together, each running to `new_tokens`.

    The parts add up: ONNX Runtime copies a run's inputs before it and its outputs after it, the
    host copies and the search run between two runs, so nothing overlaps.
    """
    rows = images * BEAMS
    parts = {"vision": vision_s(gpu, images, efficiency)}
    # image in, language embeds out and back in: both paths (vision is its own graph)
    parts["transfers"] = images * (3 * 224 * 224 * FP32 + 2 * QUERIES * HIDDEN * FP32) / pcie_bw
    parts["host copies"] = 0.0
    pre = step_io(path, images, 0, kv_bytes, seq=PREFILL)
    parts["prefill"] = device_step(path, images, 0, kv_bytes, gpu, seq=PREFILL, efficiency=efficiency)["s"]
    parts["transfers"] += (pre["h2d"] + pre["d2h"]) / pcie_bw
    prev = images
    for k in range(1, new_tokens):
        past = PREFILL + k - 1
        io = step_io(path, rows, past, kv_bytes, prev_rows=prev)
        parts["transfers"] += (io["h2d"] + io["d2h"]) / pcie_bw
        parts["host copies"] += io["host"] / host_copy
        parts["decoder steps"] = parts.get("decoder steps", 0.0) + device_step(
            path, rows, past, kv_bytes, gpu, efficiency=efficiency)["s"]
        prev = rows
    parts["host search"] = new_tokens * SEARCH_MS_PER_ROW * rows / 1e3
    parts = {k: v * 1e3 for k, v in parts.items()}
    parts["total"] = sum(parts.values())
    return parts


# --- Printing -----------------------------------------------------------------------------------

def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def mb(b):
    if b == 0:
        return "0"
    return f"{b / 1e6:,.1f}" if b >= 1e5 else f"{b / 1e6:.3f}"


def main():
    v = vicuna_params()
    print("## Model facts\n")
    table(["part", "parameters", "fp16 bytes"], [
        ["Vicuna-7B, all", f"{v['total'] / 1e9:.3f} B", f"{v['total'] * 2 / 1e9:.2f} GB"],
        ["of it, decoder.onnx (read every step)", f"{v['decoder_graph'] / 1e9:.3f} B",
         f"{v['decoder_graph'] * 2 / 1e9:.2f} GB"],
        ["of it, embed.onnx (rows gathered, not read)", f"{v['embedding'] / 1e9:.3f} B",
         f"{v['embedding'] * 2 / 1e9:.2f} GB"],
        ["EVA ViT-g/14, 39 blocks", f"{vit_params() / 1e9:.3f} B", f"{vit_params() * 2 / 1e9:.2f} GB"],
        ["Q-Former + queries + projection", f"{qformer_params() / 1e9:.3f} B",
         f"{qformer_params() * 2 / 1e9:.2f} GB"],
    ])
    print(f"vision FLOPs per image: {vision_flops() / 1e9:.0f} GFLOP; "
          f"KV per row and position: fp32 {kv_per_position(FP32):,} B, fp16 {kv_per_position(FP16):,} B; "
          f"prefill {PREFILL} positions, steps see a past of {PREFILL}..{PREFILL + STEPS - 1}\n")

    first, last = PREFILL, PREFILL + STEPS - 1
    print(f"## Before: bytes per decoder step (today's path), steady state (previous step had as many rows)\n")
    rows_out = []
    for kv_name, kvb in (("fp32", FP32), ("fp16", FP16)):
        for rows in (1, BEAMS, MAX_ROWS):
            for past in (first, last):
                io = step_io("before", rows, past, kvb)
                rows_out.append([kv_name, str(rows), str(past), mb(io["h2d"]), mb(io["d2h"]), mb(io["host"]),
                                 f"{(io['h2d'] + io['d2h']) / PCIE['Gen4 x16'] * 1e3:.1f}",
                                 f"{(io['h2d'] + io['d2h']) / PCIE['Gen5 x16'] * 1e3:.1f}",
                                 f"{io['host'] / HOST_COPY * 1e3:,.1f}"])
    table(["KV", "rows", "past", "host→device MB", "device→host MB", "host copies MB",
           "PCIe ms @25 GB/s", "PCIe ms @50 GB/s", "host copies ms @5.2 GB/s"], rows_out)

    print("## After: bytes per decoder step (contract v2 + I/O binding), the same for fp32 and fp16 KV\n")
    rows_out = []
    for rows in (1, BEAMS, MAX_ROWS):
        for past in (first, last):
            io = step_io("after", rows, past, FP16)
            rows_out.append([str(rows), str(past), mb(io["h2d"]), mb(io["d2h"]),
                             f"{(io['h2d'] + io['d2h']) / PCIE['Gen4 x16'] * 1e3:.3f}"])
    table(["rows", "past", "host→device MB", "device→host MB", "PCIe ms @25 GB/s"], rows_out)

    b = step_io("before", BEAMS, 72, FP32)
    mid = sum(step_io("before", BEAMS, p, FP32)["h2d"] for p in range(42, 73)) / 31
    print(f"Issue 18's check (5 rows, fp32, past 42-72): host→device {mid / 1e9:.2f} GB on average, "
          f"{b['h2d'] / 1e9:.2f} GB at past 72; both ways at 25 GB/s "
          f"{2 * mid / 25e9 * 1e3:.0f} ms on average, {(b['h2d'] + b['d2h']) / 25e9 * 1e3:.0f} ms at past 72.\n")

    eff = anchor_efficiency()
    print("## Published anchors (quoted in issue 18, not measured here) against the HBM floor\n")
    table(["engine, model", "GPU", "published ms/token", "HBM floor ms/token", "floor ÷ published"],
          [[w, g, f"{ms:.1f}", f"{f:.2f}", f"{e:.2f}"] for g, (w, ms, f, e) in eff.items()])

    print(f"## Device floor per decoder step, past {last} (after: v2 graph), fp16 weights\n")
    rows_out = []
    for gpu in GPUS:
        for rows in (1, BEAMS, MAX_ROWS):
            for kv_name, kvb in (("fp32", FP32), ("fp16", FP16)):
                d = device_step("after", rows, last, kvb, gpu)
                rows_out.append([gpu, str(rows), kv_name, f"{d['mem_bytes'] / 1e9:.2f}",
                                 f"{d['mem_s'] * 1e3:.2f}", f"{d['flops'] / 1e9:.0f}", f"{d['flop_s'] * 1e3:.3f}",
                                 f"{d['s'] * 1e3:.2f}", f"{d['s'] / eff[gpu][3] * 1e3:.1f}"])
    table(["GPU", "rows", "KV", "HBM GB read+written", "memory floor ms", "GFLOP", "compute floor ms",
           "floor ms (max)", "expected ms (÷ anchor)"], rows_out)
    for gpu, g in GPUS.items():
        print(f"{gpu}: compute equals the weight read at {g['flops'] / g['bw']:.0f} rows "
              f"(2 FLOP per 2-byte weight per row), i.e. never within captionfn's {MAX_ROWS} rows")
    print()

    for images, title in ((1, "one image (5 rows)"), (MAX_ROWS // BEAMS, f"a full batch, {MAX_ROWS // BEAMS} images (40 rows)")):
        print(f"## ms per caption, {title}, {MAX_NEW} new tokens, expected (floors ÷ anchor efficiency)\n")
        rows_out = []
        for gpu in GPUS:
            e = eff[gpu][3]
            for label, path, kvb, bw in (("before, fp32 KV, Gen4", "before", FP32, PCIE["Gen4 x16"]),
                                         ("before, fp32 KV, Gen5", "before", FP32, PCIE["Gen5 x16"]),
                                         ("after, fp32 KV", "after", FP32, PCIE["Gen4 x16"]),
                                         ("after, fp16 KV", "after", FP16, PCIE["Gen4 x16"])):
                c = caption(path, gpu, kvb, images, bw, e)
                floor = caption(path, gpu, kvb, images, bw, 1.0)
                per = c["total"] / images
                rows_out.append([gpu, label, f"{c['vision']:.1f}", f"{c['prefill']:.1f}", f"{c['decoder steps']:.0f}",
                                 f"{c['transfers']:.0f}", f"{c['host copies']:.0f}", f"{c['host search']:.0f}",
                                 f"{c['total']:.0f}", f"{floor['total'] / images:.0f}", f"{per:.0f}",
                                 f"{1e3 / per:.1f}"])
        table(["GPU", "path", "vision", "prefill", f"{STEPS} steps", "PCIe", "host copies", "host search",
               "batch total", "per caption, device at its floor", "per caption", "captions/s"], rows_out)

    c = caption("after", "H100 SXM", FP16, 1, PCIE["Gen4 x16"], eff["H100 SXM"][3], new_tokens=15)
    print(f"A caption that stops after 15 new tokens (after, fp16 KV, H100): {c['total']:.0f} ms.")
    c = caption("before", "H100 SXM", FP32, 1, PCIE["Gen4 x16"], eff["H100 SXM"][3], host_copy=15e9)
    print(f"Before on an H100 (fp32 KV, Gen4) if the host copied at 15 GB/s instead of 5.2: {c['total']:.0f} ms "
          f"per caption, of which host copies {c['host copies']:.0f} ms.")

    print("\n## Ratios quoted in the text\n")
    gen4 = PCIE["Gen4 x16"]
    for gpu in GPUS:
        e = eff[gpu][3]
        before = caption("before", gpu, FP32, 1, gen4, e)
        after = caption("after", gpu, FP16, 1, gen4, e)
        after32 = caption("after", gpu, FP32, 1, gen4, e)
        device = before["vision"] + before["prefill"] + before["decoder steps"]
        d40 = device_step("after", MAX_ROWS, last, FP16, gpu)
        s40_32 = device_step("after", MAX_ROWS, last, FP32, gpu, efficiency=e)["s"]
        s40_16 = device_step("after", MAX_ROWS, last, FP16, gpu, efficiency=e)["s"]
        s5_32 = device_step("after", BEAMS, last, FP32, gpu, efficiency=e)["s"]
        s5_16 = device_step("after", BEAMS, last, FP16, gpu, efficiency=e)["s"]
        batch = caption("after", gpu, FP16, MAX_ROWS // BEAMS, gen4, e)
        pre = device_step("after", MAX_ROWS // BEAMS, 0, FP16, gpu, seq=PREFILL)
        print(f"- {gpu}: before ÷ after (fp16 KV), one image: {before['total'] / after['total']:.1f}x; "
              f"device busy {device:.0f} of {before['total']:.0f} ms before; "
              f"compute ÷ memory floor at {MAX_ROWS} rows: {d40['flop_s'] / d40['mem_s']:.0%}; "
              f"fp16 KV saves {1 - s5_16 / s5_32:.1%} of a 5-row step, {1 - s40_16 / s40_32:.1%} of a 40-row step, "
              f"{1 - after['total'] / after32['total']:.1%} of a caption; "
              f"batch prefill ({MAX_ROWS // BEAMS} x {PREFILL} tokens) {pre['flops'] / 1e12:.2f} TFLOP: "
              f"compute {pre['flop_s'] * 1e3:.2f} ms vs weights {pre['mem_s'] * 1e3:.2f} ms; "
              f"host search is {batch['host search'] / batch['total']:.0%} of a full batch")
    a = caption("before", "A100 80GB SXM", FP32, 1, gen4, eff["A100 80GB SXM"][3])["total"]
    h = caption("before", "H100 SXM", FP32, 1, gen4, eff["H100 SXM"][3])["total"]
    print(f"- before, A100 ÷ H100: {a / h:.3f}; heap garbage per 5-row step at past {last} "
          f"(getFloatBuffer copies of the previous presents): {BEAMS * last * kv_per_position(FP32) / 1e6:.0f} MB; "
          f"host search per step at {MAX_ROWS} rows: {SEARCH_MS_PER_ROW * MAX_ROWS:.1f} ms")


if __name__ == "__main__":
    main()
