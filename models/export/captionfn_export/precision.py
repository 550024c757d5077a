"""Weight-only int8 / int4 graphs for CPUs and Lambda, made with ONNX Runtime's quantisation tools.

Each MatMul with a constant 2-D weight becomes a MatMulNBits (com.microsoft): weights in blocks of
block_size with one scale each, activations stay float. Embedding tables (Gather) are left as they
are: ONNX Runtime's tool quantises Gather to 4 bits only and forces opset 21. 8-bit MatMulNBits
needs ONNX Runtime >= 1.22 on x86 (the server's Java runtime is 1.23).
"""
import os

from . import progress


def _quantizer(model, bits, block_size):
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                      MatMulNBitsQuantizer)
    except ImportError:  # onnxruntime < 1.22: 4 bits only
        if bits != 4:
            raise RuntimeError("int8 weight-only quantisation needs onnxruntime >= 1.22 (MatMulNBitsQuantizer)")
        from onnxruntime.quantization.matmul_4bits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                      MatMul4BitsQuantizer as MatMulNBitsQuantizer)
        config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True)
        return MatMulNBitsQuantizer(model, algo_config=config)
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, bits=bits)
    return MatMulNBitsQuantizer(model, algo_config=config)


def quantize_graphs(out_dir, files: dict, bits: int, block_size: int, show_progress=True) -> dict:
    """Replaces each graph in out_dir by its weight-only quantised form; returns {graph: [data files]}."""
    import onnx
    data = {}
    with progress.bar(len(files), f"int{bits} weight-only", "graph", enabled=show_progress) as bar:
        for name, file in files.items():
            path = os.path.join(out_dir, file)
            model = onnx.load(path, load_external_data=True)
            q = _quantizer(model, bits, block_size)
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


def _byte_size(model):
    try:
        return model.ByteSize()
    except ValueError:  # past protobuf's 2 GB
        return 1 << 31
