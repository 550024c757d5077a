package dev.captionfn.generate;

import java.util.Arrays;

/**
 * HF transformers' beam search as LAVIS runs it (inputs_embeds only, so HF's input_ids hold the
 * generated tokens alone): log-softmax, processors, plus the beam's running score; the best
 * 2·beams candidates are taken in order, an EOS among the first {@code beams} ranks finishes a
 * hypothesis, the others continue until {@code beams} rows are filled. The search ends when the
 * hypotheses are complete ({@link BeamHypotheses#isDone}) or at max_new_tokens, when the running
 * rows are added as hypotheses too.
 *
 * <p>The search starts on the single prefilled row: HF copies it into {@code beams} rows with
 * scores 0, -1e9, -1e9, …; those copies are kept here as logical rows that all read physical row 0,
 * which gives the same candidates without running the prompt through the decoder five times.
 */
public final class BeamSearch implements Search {
    private static final float FILLER_BEAM_SCORE = -1e9f;

    private final int numBeams;
    private final int maxNewTokens;
    private final boolean earlyStopping;
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

    public BeamSearch(GenerationOptions options, TokenSpace tokens, LogitsProcessor processors) {
        this.numBeams = options.numBeams();
        this.maxNewTokens = options.maxNewTokens();
        this.earlyStopping = options.earlyStopping();
        this.tokens = tokens;
        this.processors = processors;
        this.hypotheses = new BeamHypotheses(numBeams, options.lengthPenalty());
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

        int[] nextRows = new int[numBeams];
        long[] nextTokens = new long[numBeams];
        float[] nextScores = new float[numBeams];
        int kept = 0;
        for (int rank = 0; rank < top.indices.length && kept < numBeams; rank++) {
            int row = top.indices[rank] / width;
            long token = top.indices[rank] % width;
            if (tokens.isEos(token)) {
                if (rank < numBeams) {
                    hypotheses.add(sequences[row], length, top.values[rank]);
                }
            } else {
                nextRows[kept] = row;
                nextTokens[kept] = token;
                nextScores[kept] = top.values[rank];
                kept++;
            }
        }
        if (kept < numBeams) {
            throw new IllegalStateException("beam search found only " + kept + " continuations for "
                    + numBeams + " beams: the logits are " + width + " wide");
        }
        boolean complete = hypotheses.isDone(top.values[0], length, earlyStopping);

        long[][] next = new long[numBeams][];
        for (int i = 0; i < numBeams; i++) {
            next[i] = sequences[nextRows[i]].clone();
            next[i][length] = nextTokens[i];
        }
        sequences = next;
        beamScores = nextScores;
        length++;

        if (complete || length >= maxNewTokens) {
            if (!complete) {
                for (int r = 0; r < numBeams; r++) {
                    hypotheses.add(sequences[r], length, beamScores[r]);
                }
            }
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
    public boolean isDone() {
        return done;
    }

    @Override
    public long[] result() {
        if (!done) {
            throw new IllegalStateException("the search is still running");
        }
        return result.clone();
    }
}
