package dev.captionfn.generate;

import java.util.ArrayList;
import java.util.List;

/**
 * The n-best list of finished hypotheses, as HF transformers' BeamHypotheses (the version LAVIS
 * ran): a hypothesis scores its summed log-probability divided by its length (EOS not counted)
 * raised to the length penalty; past n entries the worst is dropped.
 */
final class BeamHypotheses {
    private record Hypothesis(double score, long[] tokens) {}

    private final int numBeams;
    private final double lengthPenalty;
    private final List<Hypothesis> beams = new ArrayList<>();
    private double worstScore = 1e9;

    BeamHypotheses(int numBeams, double lengthPenalty) {
        this.numBeams = numBeams;
        this.lengthPenalty = lengthPenalty;
    }

    int size() {
        return beams.size();
    }

    void add(long[] tokens, int length, double sumLogprobs) {
        double score = sumLogprobs / Math.pow(length, lengthPenalty);
        if (beams.size() < numBeams || score > worstScore) {
            beams.add(new Hypothesis(score, java.util.Arrays.copyOf(tokens, length)));
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
    boolean isDone(double bestSumLogprobs, int curLen, boolean earlyStopping) {
        if (beams.size() < numBeams) {
            return false;
        }
        if (earlyStopping) {
            return true;
        }
        return worstScore >= bestSumLogprobs / Math.pow(curLen, lengthPenalty);
    }

    /** The best hypothesis; among equal scores the one added last, as HF's sort-then-pop. */
    long[] best() {
        Hypothesis best = beams.get(0);
        for (Hypothesis h : beams) {
            if (h.score() >= best.score()) {
                best = h;
            }
        }
        return best.tokens();
    }
}
