"""The reference search's two conventions on scripted language models, where each difference
between LAVIS (transformers <= 4.33) and transformers 4.57 / 5.x can be set up by hand. That the
transformers mode is HF generate's is proven on the real architectures in test_tiny_random.py."""
import math
import unittest

from tests.tooling import missing, needs

HAVE_TORCH = not missing("torch")

if HAVE_TORCH:
    import torch

    from captionfn_export import reference_search as rs

EOS = 0


class ScriptedDecoding:
    """A language model given as a table: the generated prefix -> next-token probabilities over
    [EOS, 1, 2]; prefixes not in the table get `otherwise`. Rows follow step()'s sources as the
    real decoding's KV cache does."""

    def __init__(self, table, otherwise=(0.05, 0.55, 0.40)):
        self.table, self.otherwise = table, otherwise
        self.rows = []

    def _logits(self):
        return torch.log(torch.tensor([self.table.get(tuple(r), self.otherwise) for r in self.rows],
                                      dtype=torch.float32))

    def prefill(self, rows=1):
        self.rows = [[] for _ in range(rows)]
        return self._logits()

    def step(self, tokens, sources):
        self.rows = [self.rows[s] + [t] for s, t in zip(sources, tokens)]
        return self._logits()


def model_json(vocab_size=3, query_tokens=2, image_token_id=None):
    return {"llm": {"eos_ids": [EOS], "vocab_size": vocab_size, "image_token_id": image_token_id},
            "qformer": {"query_tokens": query_tokens}}


# A finished hypothesis [1, EOS] at step 2 against 3-token ones at the maximum length: LAVIS divides
# it by 1 (EOS not counted) and keeps a 3-token hypothesis; transformers divides it by 2 and keeps it.
EOS_LENGTH_TABLE = {(): (0.0, 0.6, 0.4), (1,): (0.5, 0.3, 0.2), (2,): (0.0, 0.6, 0.4)}


@needs("torch")
class BeamConventionTest(unittest.TestCase):
    def beam(self, convention, table=EOS_LENGTH_TABLE, **options):
        g = dict(num_beams=2, max_new_tokens=3, min_new_tokens=1, repetition_penalty=1.0, length_penalty=1.0,
                 early_stopping=False)
        g.update(options)
        return rs.search(ScriptedDecoding(table), model_json(), convention, **g)

    def test_lavis_leaves_eos_out_of_the_hypothesis_length_and_keeps_the_longer_hypothesis(self):
        self.assertEqual([2, 1, 1], self.beam("lavis"))

    def test_transformers_counts_eos_in_the_length_and_keeps_the_short_hypothesis_with_its_eos(self):
        self.assertEqual([1, EOS], self.beam("transformers"))

    def test_a_lavis_hypothesis_that_finished_on_eos_gets_eos_appended(self):
        # With length_penalty 0 every hypothesis scores its sum: [1, EOS] (log .6 + log .5) beats
        # the 3-token ones, and is returned with the EOS that HF <= 4.33's finalize appended.
        self.assertEqual([1, EOS], self.beam("lavis", length_penalty=0.0))

    def test_hypotheses_at_the_maximum_length_end_without_eos(self):
        unlikely_eos = (0.01, 0.6, 0.39)
        for convention in rs.CONVENTIONS:
            ids = rs.search(ScriptedDecoding({}, otherwise=unlikely_eos), model_json(), convention, 2, 3)
            self.assertEqual(3, len(ids), convention)
            self.assertNotIn(EOS, ids, convention)

    def test_min_new_tokens_bans_eos_until_enough_tokens_are_generated(self):
        eos_likely = (0.9, 0.06, 0.04)
        for convention in rs.CONVENTIONS:
            for beams in (1, 2):
                ids = rs.search(ScriptedDecoding({}, otherwise=eos_likely), model_json(), convention, beams, 3,
                                min_new_tokens=2)
                self.assertNotIn(EOS, ids[:2], (convention, beams))

    def test_early_stopping_ends_transformers_beam_search_once_num_beams_have_finished(self):
        table = {(): (0.0, 0.6, 0.4), (1,): (0.6, 0.3, 0.1), (2,): (0.6, 0.3, 0.1)}
        ids = rs.search(ScriptedDecoding(table), model_json(), "transformers", 2, 10, early_stopping=True)
        self.assertEqual([1, EOS], ids)


@needs("torch")
class GreedyConventionTest(unittest.TestCase):
    def greedy(self, convention, prompt_ids):
        # logits 1.0 for token 1, 0.8 for token 2: a penalty of 2 on token 1 makes 2 the choice
        table = {(): (0.0, math.e ** 1.0, math.e ** 0.8)}
        return rs.search(ScriptedDecoding(table, otherwise=(1.0, 0.0, 0.0)), model_json(), convention, 1, 4,
                         repetition_penalty=2.0, lm_prompt_ids=prompt_ids)

    def test_lavis_penalises_generated_tokens_only(self):
        self.assertEqual([1, EOS], self.greedy("lavis", [1]))

    def test_transformers_also_penalises_the_language_models_prompt_ids(self):
        self.assertEqual([2, EOS], self.greedy("transformers", [1]))

    def test_greedy_stops_on_eos_and_returns_it(self):
        self.assertEqual(EOS, self.greedy("lavis", [])[-1])

    def test_an_unknown_convention_is_refused(self):
        with self.assertRaisesRegex(ValueError, "convention must be one of"):
            rs.search(ScriptedDecoding({}), model_json(), "lavis-4.33", 1, 4)


@needs("torch")
class ProcessorsTest(unittest.TestCase):
    def test_each_distinct_id_is_penalised_once_whether_in_the_prefix_or_generated(self):
        p = rs.Processors(vocab_size=4, eos_ids=[0], repetition_penalty=2.0, min_new_tokens=0, penalised_prefix=[1, 1])
        out = p([1, 2, 2], torch.tensor([0.5, 2.0, -2.0, 1.0]))
        self.assertEqual([0.5, 1.0, -4.0, 1.0], out.tolist())

    def test_eos_is_banned_below_min_new_tokens_counting_generated_tokens_only(self):
        p = rs.Processors(vocab_size=3, eos_ids=[0], repetition_penalty=1.0, min_new_tokens=1,
                          penalised_prefix=[5, 6, 7])
        self.assertEqual(-math.inf, p([], torch.zeros(3))[0].item())
        self.assertEqual(0.0, p([1], torch.zeros(3))[0].item())

    def test_columns_past_the_vocabulary_are_masked_and_prompt_ids_past_the_logits_ignored(self):
        p = rs.Processors(vocab_size=2, eos_ids=[0], repetition_penalty=2.0, min_new_tokens=0,
                          penalised_prefix=[32012])
        self.assertEqual([1.0, 1.0, -math.inf], p([], torch.ones(3)).tolist())

    def test_the_input_scores_are_not_changed(self):
        scores = torch.ones(3)
        rs.Processors(2, [0], 2.0, 5, [1])([1], scores)
        self.assertEqual([1.0, 1.0, 1.0], scores.tolist())


@needs("torch")
class PromptIdsTest(unittest.TestCase):
    def test_the_language_model_sees_query_tokens_placeholders_then_the_prompt(self):
        self.assertEqual([9, 9, 2, 5], rs.lm_prompt_ids(model_json(image_token_id=9), [2, 5]))

    def test_without_a_placeholder_it_sees_the_prompt_alone(self):
        self.assertEqual([2, 5], rs.lm_prompt_ids(model_json(image_token_id=None), [2, 5]))

    def test_a_reference_counts_the_cases_whose_conventions_differ(self):
        same = {"greedy_ids": [1], "beam_ids": [2]}
        doc = {"cases": [{"lavis": same, "transformers": same},
                         {"lavis": same, "transformers": dict(same, beam_ids=[3])}]}
        self.assertEqual(1, rs.count_differing(doc))


@needs("torch")
class ResourceNameTest(unittest.TestCase):
    def test_an_image_under_the_resources_is_named_by_its_classpath_path(self):
        self.assertEqual("images/photos/bird.JPEG",
                         rs.resource_name("/r/src/test/resources/images/photos/bird.JPEG", "/r/src/test/resources"))

    def test_an_image_elsewhere_is_named_by_its_file_name(self):
        self.assertEqual("x.png", rs.resource_name("/elsewhere/x.png", "/r/src/test/resources"))


if __name__ == "__main__":
    unittest.main()
