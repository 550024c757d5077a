package dev.captionfn.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Finished hypotheses as HF transformers &le; 4.33 kept them, the version LAVIS ran (inputs_embeds
 * only, so lengths count generated tokens). An EOS candidate among the first {@code numBeams}
 * ranks finishes a hypothesis of the tokens before it, scored by their summed log-probability over
 * their length (EOS not counted) to the length penalty, in double as Python floats; past
 * {@code numBeams} entries the worst is dropped. The search is done, before the running beams are
 * extended, once the list is full and its worst entry is at least the step's best candidate over
 * the length before the step; otherwise at max_new_tokens the running beams join the list.
 */
final class LavisBeamHypotheses implements BeamHypotheses {
    private record Hypothesis(double score, long[] tokens) {}

    private final int numBeams;
    private final double lengthPenalty;
    private final boolean earlyStopping;
    private final TokenSpace tokens;
    private final List<Hypothesis> beams = new ArrayList<>();
    private double worstScore = 1e9;

    LavisBeamHypotheses(GenerationOptions options, TokenSpace tokens) {
        this.numBeams = options.numBeams();
        this.lengthPenalty = options.lengthPenalty();
        this.earlyStopping = options.earlyStopping();
        this.tokens = tokens;
    }

    @Override
    public boolean afterStep(BeamStep step) {
        int gen = step.generated();
        for (int rank = 0; rank < Math.min(numBeams, step.tokens().length); rank++) {
            if (tokens.isEos(step.tokens()[rank])) {
                // scored without its EOS; HF <= 4.33's finalize writes the first EOS id after the
                // tokens of a hypothesis shorter than max_length, so the result carries it
                long[] hypothesis = Arrays.copyOf(step.sequences()[step.rows()[rank]], gen + 1);
                hypothesis[gen] = tokens.eosIds()[0];
                add(hypothesis, gen, step.scores()[rank]);
            }
        }
        if (isDone(step.scores()[0], gen)) {
            return true;
        }
        if (step.last()) {
            for (int r = 0; r < numBeams; r++) {
                add(step.next()[r], gen + 1, step.nextScores()[r]);
            }
            return true;
        }
        return false;
    }

    /**
     * @param hypothesis the tokens the result will hold
     * @param length the length the score is normalised by
     */
    void add(long[] hypothesis, int length, double sumLogprobs) {
        double score = sumLogprobs / Math.pow(length, lengthPenalty);
        if (beams.size() < numBeams || score > worstScore) {
            beams.add(new Hypothesis(score, hypothesis.clone()));
            if (beams.size() > numBeams) {
                // HF sorts (score, index) pairs: the lowest score goes, the earliest among equals
                int worst = 0;
                for (int i = 1; i < beams.size(); i++) {
                    if (beams.get(i).score() < beams.get(worst).score()) {
                        worst = i;
                    }
                }
                beams.remove(worst);
                worstScore = beams.stream().mapToDouble(Hypothesis::score).min().orElseThrow();
            } else {
                worstScore = Math.min(score, worstScore);
            }
        }
    }

    /** With early stopping off: done when no running beam can still beat the worst finished one. */
    boolean isDone(double bestSumLogprobs, int curLen) {
        if (beams.size() < numBeams) {
            return false;
        }
        if (earlyStopping) {
            return true;
        }
        return worstScore >= bestSumLogprobs / Math.pow(curLen, lengthPenalty);
    }

    /** The finished hypotheses, best first. */
    List<List<Long>> finished() {
        return beams.stream()
                .sorted(Comparator.comparingDouble(Hypothesis::score).reversed())
                .map(h -> Arrays.stream(h.tokens()).boxed().toList())
                .toList();
    }

    /** The best hypothesis; among equal scores the one added last, as HF's sort-then-pop. */
    @Override
    public long[] best() {
        Hypothesis best = beams.get(0);
        for (Hypothesis h : beams) {
            if (h.score() >= best.score()) {
                best = h;
            }
        }
        return best.tokens().clone();
    }
}
