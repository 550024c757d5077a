"""Command line: parsed and checked with the standard library, so mistakes are reported before
torch and a 14 GB checkpoint are loaded."""
import argparse
import os
import sys

from .manifest import CONTRACTS, CONVENTIONS, KV_DTYPES
from .precision import (ACCURACY_LEVELS, BLOCK_SIZES, DEFAULT_ACCURACY_LEVEL, DEFAULT_BLOCK_SIZE,
                        DEFAULT_QUANTIZED_GRAPHS, QUANTIZABLE_GRAPHS)

PRECISIONS = ("fp32", "fp16", "int8", "int4")
KNOWN_CHECKPOINTS = ("Salesforce/instructblip-vicuna-7b", "Salesforce/blip2-opt-2.7b")
TINY_FAMILIES = ("instructblip", "blip2")
RANDOM_SIZES = ("tiny", "bench150m")  # tiny_random.SIZES, named here so that parsing needs no torch
DEFAULT_IMAGES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..",
                                  "shared", "data", "images", "photos")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="export_model.py",
        description="Export InstructBLIP / BLIP-2 from HF transformers into a captionfn model directory.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help=f"HF hub id or local directory, e.g. {' or '.join(KNOWN_CHECKPOINTS)}")
    src.add_argument("--tiny-random", choices=TINY_FAMILIES,
                     help="the same architecture with a small random configuration (no download)")
    p.add_argument("--out", required=True, help="the model directory to write (must be empty or absent)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="fp16 for GPUs (exported on CUDA); fp32, or weight-only int8/int4 for CPUs and Lambda")
    p.add_argument("--device", default="cpu", help="torch device for export and verification: cpu or cuda[:N]")
    p.add_argument("--revision", help="the checkpoint's git revision (recorded in model.json)")
    p.add_argument("--id", help="model id reported in every caption (default: derived from the checkpoint)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--block-size", type=int, choices=BLOCK_SIZES,
                   help="int4/int8: weights per quantisation block (default: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_BLOCK_SIZE.items()) + ")")
    p.add_argument("--accuracy-level", type=int, choices=ACCURACY_LEVELS, default=DEFAULT_ACCURACY_LEVEL,
                   help="int4/int8: MatMulNBits accuracy_level, what the kernel computes in: 4 = int8 (fast on "
                        "CPUs with VNNI / dot-product), 1 = fp32 (dequantise, slower than fp32), 0 = unset "
                        f"(default {DEFAULT_ACCURACY_LEVEL})")
    p.add_argument("--quantize-graphs", nargs="+", choices=QUANTIZABLE_GRAPHS, default=list(DEFAULT_QUANTIZED_GRAPHS),
                   metavar="GRAPH", help="int4/int8: which graphs get weight-only MatMulNBits "
                                         f"({', '.join(QUANTIZABLE_GRAPHS)}; default: {' '.join(DEFAULT_QUANTIZED_GRAPHS)})")
    p.add_argument("--convention", choices=CONVENTIONS,
                   help="model.json's generation.convention: the reference its decoding follows (default: the "
                        "recipe's, lavis for InstructBLIP-Vicuna and BLIP-2-OPT)")
    p.add_argument("--decoder-contract", type=int, choices=CONTRACTS, default=2,
                   help="2 (default, model.json format 2): the decoder gathers its past rows by a beam_idx input and "
                        "returns the last position's logits only; 1 (format 1): the caller gathers the pasts, "
                        "logits for every position, float32 KV, what servers before format 2 read")
    p.add_argument("--kv-dtype", choices=KV_DTYPES, default="float32",
                   help="element type of the decoder's pasts and presents (contract 2 only): float16 halves the "
                        "KV cache's bytes for GPU exports; CPU exports keep float32 (default)")
    p.add_argument("--seed", type=int, default=0, help="--tiny-random weights' seed")
    p.add_argument("--random-size", choices=RANDOM_SIZES, default="tiny",
                   help="--tiny-random size: tiny (a committed test fixture) or bench150m (~150M parameters, "
                        "for timing precisions)")
    p.add_argument("--verify", action="store_true",
                   help="compare ONNX Runtime with PyTorch on sample images and fail when they drift")
    p.add_argument("--images", nargs="+", help="images for --verify (default: ../shared/data/images/photos)")
    p.add_argument("--verify-tokens", type=int, default=20, help="greedy tokens compared per image (default 20)")
    p.add_argument("--reference-out", help="also write reference.json to this file: HF generate's greedy and beam ids "
                                           "per image (transformers convention) and the reference search's (lavis), "
                                           "as a fixture for the Java tests")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def check(args, p):
    """Refuses combinations that cannot work, before anything heavy is imported."""
    if args.precision == "fp16" and not args.device.startswith("cuda"):
        p.error("--precision fp16 is exported and verified on a GPU: add --device cuda "
                "(PyTorch's CPU kernels do not run every fp16 operation)")
    if args.kv_dtype != "float32" and args.decoder_contract != 2:
        p.error(f"--kv-dtype {args.kv_dtype} needs --decoder-contract 2 (the contract 1 decoder's pasts "
                "and presents are float32)")
    if args.precision in ("int8", "int4"):
        args.block_size = args.block_size or DEFAULT_BLOCK_SIZE[args.precision]
    if not 14 <= args.opset <= 20:
        p.error("--opset must be between 14 and 20")
    if args.images and not (args.verify or args.reference_out):
        p.error("--images goes with --verify or --reference-out")
    if args.random_size != "tiny" and not args.tiny_random:
        p.error("--random-size goes with --tiny-random")
    if args.verify_tokens < 1:
        p.error("--verify-tokens must be positive")
    if os.path.isdir(args.out) and os.listdir(args.out) and not args.force:
        p.error(f"--out {args.out} is not empty (add --force to write into it)")
    if (args.verify or args.reference_out) and not args.images:
        images_dir = os.path.normpath(DEFAULT_IMAGES_DIR)
        if not os.path.isdir(images_dir):
            p.error(f"--verify and --reference-out need --images (the default {images_dir} is not there)")
        args.images = sorted(os.path.join(images_dir, f) for f in os.listdir(images_dir)
                             if f.lower().endswith((".png", ".jpg", ".jpeg")))[:4]
    return args


def parse(argv=None):
    p = parser()
    return check(p.parse_args(argv), p)


def main(argv=None) -> int:
    args = parse(argv)
    from . import export  # torch, onnx, transformers: imported only now
    try:
        export.run(args)
    except export.VerificationFailed as e:
        print(f"verification FAILED: {e}", file=sys.stderr)
        return 2
    return 0
