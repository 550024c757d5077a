"""Command line: parsed and checked with the standard library, so mistakes are reported before
torch and a 14 GB checkpoint are loaded."""
import argparse
import os
import sys

PRECISIONS = ("fp32", "fp16", "int8", "int4")
KNOWN_CHECKPOINTS = ("Salesforce/instructblip-vicuna-7b", "Salesforce/blip2-opt-2.7b")
TINY_FAMILIES = ("instructblip", "blip2")
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
    p.add_argument("--block-size", type=int, default=32, help="int4/int8 quantisation block size (default 32)")
    p.add_argument("--seed", type=int, default=0, help="--tiny-random weights' seed")
    p.add_argument("--verify", action="store_true",
                   help="compare ONNX Runtime with PyTorch on sample images and fail when they drift")
    p.add_argument("--images", nargs="+", help="images for --verify (default: ../shared/data/images/photos)")
    p.add_argument("--verify-tokens", type=int, default=20, help="greedy tokens compared per image (default 20)")
    p.add_argument("--reference-out", help="with --verify: also write HF generate's token ids (greedy and beam) "
                                           "per image to this JSON file, as a fixture for the Java tests")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def check(args, p):
    """Refuses combinations that cannot work, before anything heavy is imported."""
    if args.precision == "fp16" and not args.device.startswith("cuda"):
        p.error("--precision fp16 is exported and verified on a GPU: add --device cuda "
                "(PyTorch's CPU kernels do not run every fp16 operation)")
    if args.precision in ("int8", "int4") and args.block_size not in (16, 32, 64, 128, 256):
        p.error("--block-size must be one of 16, 32, 64, 128, 256")
    if not 14 <= args.opset <= 20:
        p.error("--opset must be between 14 and 20")
    if (args.images or args.reference_out) and not args.verify:
        p.error("--images and --reference-out go with --verify")
    if args.verify_tokens < 1:
        p.error("--verify-tokens must be positive")
    if os.path.isdir(args.out) and os.listdir(args.out) and not args.force:
        p.error(f"--out {args.out} is not empty (add --force to write into it)")
    if args.verify and not args.images:
        images_dir = os.path.normpath(DEFAULT_IMAGES_DIR)
        if not os.path.isdir(images_dir):
            p.error(f"--verify needs --images (the default {images_dir} is not there)")
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
