"""How --verify lines HF generate's output up with the server's tokens (standard library only)."""
import unittest

from captionfn_export import verify


class StripPromptTest(unittest.TestCase):
    def test_versions_that_return_the_prompt_lose_all_of_it_image_tokens_included(self):
        prompt = [32001] * 4 + [2, 14350, 263]
        self.assertEqual([263, 29889, 2], verify.strip_prompt(prompt + [263, 29889, 2], prompt, {2}))

    def test_versions_that_prepend_a_bos_lose_that_one_token(self):
        self.assertEqual([2, 5], verify.strip_prompt([1, 2, 5], [9, 9, 9], {2, 1}))

    def test_new_tokens_alone_are_kept(self):
        self.assertEqual([7, 8], verify.strip_prompt([7, 8], [2, 3], {2}))


class UntilEosTest(unittest.TestCase):
    def test_tokens_stop_after_the_first_eos_and_keep_it(self):
        self.assertEqual([5, 6, 2], verify.until_eos([5, 6, 2, 9, 2], [2]))

    def test_any_of_several_eos_ids_stops(self):
        self.assertEqual([5, 50118], verify.until_eos([5, 50118, 7], [2, 50118]))

    def test_without_eos_all_tokens_are_kept(self):
        self.assertEqual([5, 6], verify.until_eos([5, 6], [2]))


@unittest.skipIf(verify.np is None, "needs numpy")
class NearTieTest(unittest.TestCase):
    def test_a_different_token_within_twice_the_drift_of_pytorchs_choice_is_a_near_tie(self):
        reference = [1.00, 0.98, 0.0]
        ours = [0.99, 1.00, 0.0]  # drift 0.02, PyTorch's gap 0.02
        self.assertTrue(verify.near_tie(reference, ours, 0, 1))

    def test_a_token_pytorch_ranks_beyond_twice_the_drift_below_is_not(self):
        reference = [3.0, 0.5, 0.0]
        ours = [2.99, 0.52, 0.0]  # drift 0.02, PyTorch's gap 2.5
        self.assertFalse(verify.near_tie(reference, ours, 0, 1))


class ToleranceTest(unittest.TestCase):
    def test_every_precision_has_a_tolerance_and_quantised_ones_are_looser(self):
        t = verify.TOLERANCE
        self.assertEqual({"fp32", "fp16", "int8", "int4"}, set(t))
        self.assertTrue(t["fp32"] < t["fp16"] < t["int8"] < t["int4"])
        self.assertEqual({"fp32", "fp16"}, verify.STRICT_TOKENS)


if __name__ == "__main__":
    unittest.main()
