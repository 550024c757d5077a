"""The command line refuses what cannot work before torch or a checkpoint is loaded."""
import contextlib
import io
import os
import tempfile
import unittest

from captionfn_export import cli


def refused(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), unittest.TestCase().assertRaises(SystemExit) as exit_:
        cli.parse(list(argv))
    return exit_.exception.code, err.getvalue()


class CliTest(unittest.TestCase):
    def setUp(self):
        self.out = os.path.join(tempfile.mkdtemp(), "model")

    def test_fp16_needs_a_gpu(self):
        code, err = refused("--checkpoint", "Salesforce/instructblip-vicuna-7b", "--out", self.out, "--precision", "fp16")
        self.assertEqual(2, code)
        self.assertIn("--precision fp16 is exported and verified on a GPU: add --device cuda", err)

    def test_fp16_on_cuda_is_accepted(self):
        args = cli.parse(["--checkpoint", "x", "--out", self.out, "--precision", "fp16", "--device", "cuda"])
        self.assertEqual(("fp16", "cuda"), (args.precision, args.device))

    def test_a_checkpoint_or_tiny_random_is_required_and_not_both(self):
        self.assertIn("one of the arguments --checkpoint --tiny-random is required", refused("--out", self.out)[1])
        self.assertIn("not allowed with argument",
                      refused("--checkpoint", "x", "--tiny-random", "blip2", "--out", self.out)[1])

    def test_a_non_empty_output_directory_needs_force(self):
        os.makedirs(self.out)
        open(os.path.join(self.out, "model.json"), "w").close()
        self.assertIn("is not empty (add --force", refused("--tiny-random", "blip2", "--out", self.out)[1])
        self.assertTrue(cli.parse(["--tiny-random", "blip2", "--out", self.out, "--force"]).force)

    def test_images_go_with_verify_or_a_reference_output(self):
        self.assertIn("--images goes with --verify or --reference-out",
                      refused("--tiny-random", "blip2", "--out", self.out, "--images", "a.png")[1])
        args = cli.parse(["--tiny-random", "blip2", "--out", self.out, "--images", "a.png", "--reference-out", "r.json"])
        self.assertEqual(["a.png"], args.images)

    def test_verify_defaults_to_the_shared_photos(self):
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out, "--verify"])
        if os.path.isdir(os.path.normpath(cli.DEFAULT_IMAGES_DIR)):
            self.assertEqual(4, len(args.images))
            self.assertTrue(all(os.path.isfile(p) for p in args.images))

    def test_quantisation_block_sizes_are_powers_of_two(self):
        self.assertIn("argument --block-size: invalid choice: 24",
                      refused("--tiny-random", "blip2", "--out", self.out, "--precision", "int4", "--block-size", "24")[1])

    def test_int8_defaults_to_blocks_of_128_and_int4_to_blocks_of_32(self):
        self.assertEqual(128, cli.parse(["--tiny-random", "blip2", "--out", self.out, "--precision", "int8"]).block_size)
        self.assertEqual(32, cli.parse(["--tiny-random", "blip2", "--out", self.out, "--precision", "int4"]).block_size)
        self.assertEqual(64, cli.parse(["--tiny-random", "blip2", "--out", self.out, "--precision", "int8",
                                        "--block-size", "64"]).block_size)

    def test_defaults(self):
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out])
        self.assertEqual(("fp32", "cpu", 17, None, False), (args.precision, args.device, args.opset, args.block_size, args.verify))
        self.assertEqual((4, ["vision", "decoder"], None, "tiny"),
                         (args.accuracy_level, args.quantize_graphs, args.convention, args.random_size))

    def test_quantisation_takes_an_accuracy_level_and_the_graphs_to_quantise(self):
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out, "--precision", "int8",
                          "--accuracy-level", "0", "--quantize-graphs", "decoder"])
        self.assertEqual((0, ["decoder"]), (args.accuracy_level, args.quantize_graphs))
        self.assertIn("invalid choice: 'embed'", refused("--tiny-random", "blip2", "--out", self.out,
                                                         "--quantize-graphs", "embed")[1])
        self.assertIn("invalid choice: 5", refused("--tiny-random", "blip2", "--out", self.out,
                                                   "--accuracy-level", "5")[1])

    def test_the_convention_can_override_the_recipes(self):
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out, "--convention", "transformers"])
        self.assertEqual("transformers", args.convention)
        self.assertIn("invalid choice: 'lavis-4.33'",
                      refused("--tiny-random", "blip2", "--out", self.out, "--convention", "lavis-4.33")[1])

    def test_new_exports_get_the_decoder_contract_2_with_a_float32_kv(self):
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out])
        self.assertEqual((2, "float32"), (args.decoder_contract, args.kv_dtype))
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out, "--decoder-contract", "1"])
        self.assertEqual((1, "float32"), (args.decoder_contract, args.kv_dtype))
        args = cli.parse(["--tiny-random", "instructblip", "--out", self.out, "--kv-dtype", "float16"])
        self.assertEqual((2, "float16"), (args.decoder_contract, args.kv_dtype))

    def test_a_float16_kv_with_the_contract_1_is_refused(self):
        code, err = refused("--tiny-random", "blip2", "--out", self.out, "--decoder-contract", "1", "--kv-dtype", "float16")
        self.assertEqual(2, code)
        self.assertIn("--kv-dtype float16 needs --decoder-contract 2 (the contract 1 decoder's pasts and presents "
                      "are float32)", err)
        self.assertIn("invalid choice: 3", refused("--tiny-random", "blip2", "--out", self.out, "--decoder-contract", "3")[1])
        self.assertIn("invalid choice: 'bfloat16'",
                      refused("--tiny-random", "blip2", "--out", self.out, "--kv-dtype", "bfloat16")[1])

    def test_a_random_size_goes_with_tiny_random(self):
        self.assertEqual("bench150m", cli.parse(["--tiny-random", "instructblip", "--out", self.out,
                                                 "--random-size", "bench150m"]).random_size)
        self.assertIn("--random-size goes with --tiny-random",
                      refused("--checkpoint", "x", "--out", self.out, "--random-size", "bench150m")[1])


if __name__ == "__main__":
    unittest.main()
