#!/usr/bin/env python3
"""Exports an InstructBLIP or BLIP-2 checkpoint from HF transformers into a captionfn model directory.

    python3 models/export/export_model.py --checkpoint Salesforce/instructblip-vicuna-7b \
        --precision fp16 --device cuda --out /models/instructblip-vicuna-7b-fp16 --verify
    python3 models/export/export_model.py --tiny-random instructblip --out /tmp/tiny --verify
    python3 models/export/export_model.py --checkpoint path/saved_with_save_pretrained --precision int8 \
        --out /models/my-int8 --verify --reference-out /tmp/reference.json

See models/README.md. Needs the packages of models/export/requirements.txt; models/export/venv.sh
builds a virtual environment with the pinned ones (requirements-pinned.txt) and runs a command in it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from captionfn_export.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
