package dev.captionfn.generate;

import java.util.Arrays;

/**
 * HF transformers' beam search: log-softmax, processors, plus the beam's running score; the best
 * K = max(2, 1 + EOS ids)·beams candidates are taken in order, and the first {@code beams} of them
 * whose token is not EOS go on. Which candidates finish a hypothesis, how it is scored and when the
 * search ends is the decoding convention's part ({@link BeamHypotheses}).
 *
 * <p>The search starts on the single prefilled row: HF copies it into {@code beams} rows with
 * scores 0, -1e9, -1e9, …; those copies are kept here as logical rows that all read physical row 0,
 * which gives the same candidates without running the prompt through the decoder five times.
 */
final class BeamSearch implements Search {
    private static final float FILLER_BEAM_SCORE = -1e9f;

    private final int numBeams;
    private final int maxNewTokens;
    private final TokenSpace tokens;
    private final LogitsProcessor processors;
    private final BeamHypotheses hypotheses;
    private final int candidates;

    private long[][] sequences;
    private float[] beamScores;
    private int length;
    private int physicalRows = 1;
    private float[] scores = new float[0];
    private boolean done;
    private long[] result;

    BeamSearch(GenerationOptions options, TokenSpace tokens, LogitsProcessor processors, DecodingConvention convention) {
        this.numBeams = options.numBeams();
        this.maxNewTokens = options.maxNewTokens();
        this.tokens = tokens;
        this.processors = processors;
        this.hypotheses = BeamHypotheses.of(convention, options, tokens);
        this.candidates = Math.max(2, 1 + tokens.eosIds().length) * numBeams;
        this.sequences = new long[numBeams][maxNewTokens];
        this.beamScores = new float[numBeams];
        Arrays.fill(beamScores, 1, numBeams, FILLER_BEAM_SCORE);
    }

    @Override
    public int rows() {
        return done ? 0 : physicalRows;
    }

    @Override
    public Step step(float[] logits, int firstRow, int width) {
        if (scores.length != numBeams * width) {
            scores = new float[numBeams * width];
        }
        for (int r = 0; r < numBeams; r++) {
            int physical = physicalRows == 1 ? 0 : r;
            int at = r * width;
            System.arraycopy(logits, (firstRow + physical) * width, scores, at, width);
            LogSoftmax.apply(scores, at, width);
            processors.process(sequences[r], length, scores, at, width);
            float beamScore = beamScores[r];
            for (int t = at; t < at + width; t++) {
                scores[t] += beamScore;
            }
        }
        TopK top = TopK.of(scores, numBeams * width, candidates);
        int[] rows = new int[top.indices.length];
        long[] candidateTokens = new long[top.indices.length];
        for (int rank = 0; rank < rows.length; rank++) {
            rows[rank] = top.indices[rank] / width;
            candidateTokens[rank] = top.indices[rank] % width;
        }

        int[] nextRows = new int[numBeams];
        long[] nextTokens = new long[numBeams];
        float[] nextScores = new float[numBeams];
        int kept = 0;
        for (int rank = 0; rank < rows.length && kept < numBeams; rank++) {
            if (!tokens.isEos(candidateTokens[rank])) {
                nextRows[kept] = rows[rank];
                nextTokens[kept] = candidateTokens[rank];
                nextScores[kept] = top.values[rank];
                kept++;
            }
        }
        if (kept < numBeams) {
            throw new IllegalStateException("beam search found only " + kept + " continuations for "
                    + numBeams + " beams: the logits are " + width + " wide");
        }
        long[][] next = new long[numBeams][];
        for (int i = 0; i < numBeams; i++) {
            next[i] = sequences[nextRows[i]].clone();
            next[i][length] = nextTokens[i];
        }
        boolean complete = hypotheses.afterStep(new BeamStep(length, sequences, rows, candidateTokens, top.values,
                next, nextScores, length + 1 >= maxNewTokens));
        sequences = next;
        beamScores = nextScores;
        length++;

        if (complete) {
            done = true;
            result = hypotheses.best();
            return Step.finished();
        }
        int[] sources = new int[numBeams];
        for (int i = 0; i < numBeams; i++) {
            sources[i] = physicalRows == 1 ? 0 : nextRows[i];
        }
        physicalRows = numBeams;
        return new Step(sources, nextTokens);
    }

    @Override
    public long[] result() {
        if (!done) {
            throw new IllegalStateException("the search is still running");
        }
        return result.clone();
    }
}
