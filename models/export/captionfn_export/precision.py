"""Weight-only int8 / int4 graphs for CPUs and Lambda, made with ONNX Runtime's quantisation tools.

Each MatMul with a constant 2-D weight becomes a MatMulNBits (com.microsoft): weights in blocks of
block_size with one scale each. Embedding tables (Gather) are left as they are: ONNX Runtime's tool
quantises Gather to 4 bits only and forces opset 21. 8-bit MatMulNBits needs ONNX Runtime >= 1.22
on x86 (the server's Java runtime is 1.23).

accuracy_level is the MatMulNBits attribute that says what the kernel may compute in: 0/1 (unset,
fp32) dequantises the weights and multiplies in float32, which on a CPU is slower than plain fp32
MatMul; 4 quantises the activations to int8 per block too and multiplies in int8 (AVX512-VNNI,
AVX-VNNI, ARM dot-product), which is where weight-only quantisation becomes a speed-up.

The defaults come from a measurement on a 156M-parameter random InstructBLIP (--tiny-random
instructblip --random-size bench150m), Python onnxruntime 1.30, 2 threads, AMD EPYC with
AVX512-VNNI, ms per caption (30 new tokens, 5 beams / greedy) and first-step logit drift from fp32:
  fp32                          1729-1865 / 1350-1515 ms
  int8, level 0 (the old default), block 32   10727 / 9977 ms (6-7x slower), drift 1.2 %
  int8, level 4, block 32        1152 / 683 ms, drift 1.6 %
  int8, level 4, block 128        966 / 575 ms (1.8-1.9x / 2.4-2.6x faster), drift 2.0-2.4 %
  int8, level 4, block 128, decoder only   1002 / 615 ms
  int4, level 4, block 32        1086 / 626 ms, drift 20 % on random weights (judge it on a trained model)
  int4, level 4, block 128        928 / 491 ms, drift 26 %
so level 4, both graphs, block 128 for int8 (8-bit blocks lose little however long) and 32 for
int4 (4-bit needs small blocks). models/README.md has the measurement on the trained model.
"""
import logging
import os

from . import compat, progress

ACCURACY_LEVELS = (0, 1, 2, 3, 4)  # unset, fp32, fp16, bf16, int8 compute
DEFAULT_ACCURACY_LEVEL = 4
QUANTIZABLE_GRAPHS = ("vision", "decoder")  # the embed graph is one Gather: nothing to quantise
DEFAULT_QUANTIZED_GRAPHS = ("vision", "decoder")
BLOCK_SIZES = (16, 32, 64, 128, 256)
DEFAULT_BLOCK_SIZE = {"int8": 128, "int4": 32}


def quantize_graphs(out_dir, files: dict, bits: int, block_size: int, accuracy_level=DEFAULT_ACCURACY_LEVEL,
                    show_progress=True) -> dict:
    """Replaces each graph in out_dir named in files by its weight-only quantised form; returns
    {graph: [data files]}."""
    import onnx
    data = {}
    level = accuracy_level or None  # 0: leave the attribute unset
    quiet_quantizer_log()
    with progress.bar(len(files), f"int{bits} weight-only", "graph", enabled=show_progress) as bar:
        for name, file in files.items():
            path = os.path.join(out_dir, file)
            model = onnx.load(path, load_external_data=True)
            q = compat.weight_only_quantizer(model, bits, block_size, level)
            q.process()
            for old in (path, path + ".data"):
                if os.path.exists(old):
                    os.remove(old)
            big = _byte_size(q.model.model) > (1 << 30)
            # ONNXModel.save_model_to_file writes "<file>.data" beside the graph when asked to.
            q.model.save_model_to_file(path, big)
            data[name] = [file + ".data"] if big else []
            onnx.checker.check_model(path)
            bar.update(1)
    return data


def quiet_quantizer_log():
    """onnxruntime's quantiser logs a line per node at INFO (its module calls basicConfig(INFO));
    the progress bar says enough."""
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)


def _byte_size(model):
    try:
        return model.ByteSize()
    except ValueError:  # past protobuf's 2 GB
        return 1 << 31
