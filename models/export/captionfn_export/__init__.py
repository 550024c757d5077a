"""Exports InstructBLIP / BLIP-2 checkpoints from HF transformers into captionfn's model directory.

The modules that need no torch or transformers (manifest, tokenizer_files, progress) are imported
by the tests that run in CI; the others import torch, onnx, onnxruntime and transformers lazily.
"""
