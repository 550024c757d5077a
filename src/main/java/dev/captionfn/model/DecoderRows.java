package dev.captionfn.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.Arrays;
import java.util.List;

/**
 * What every decoder state keeps of its rows apart from the cache: the attention masks and each
 * row's next position, laid out at prefill and carried along as the search keeps, repeats or drops
 * rows.
 *
 * <p>Rows are left-padded at prefill, so every row's last position is its real last token; padded
 * positions are masked out and do not advance the position ids (HF: cumsum of the mask - 1).
 */
final class DecoderRows {
    /** A row to prefill: the projected query embeddings followed by the prompt's token ids. */
    record PrefillRow(float[] languageEmbeds, long[] promptIds) {}

    /** The prefill's inputs: embeddings [rows, length, hidden] and positions [rows, length]. */
    record Prefill(float[] embeds, long[] positions, int length) {}

    /** One step's positions [rows, 1]; the mask is {@link #mask()} over [rows, {@link #total()}]. */
    record Step(long[] positions) {}

    private int rows;
    private int total;
    private long[] mask;
    private long[] nextPosition;

    /** Lays out the batch, left-padded, embedding the prompts with the embed graph. */
    Prefill prefill(OnnxGraphs graphs, List<PrefillRow> batch, long padId, OrtSession.RunOptions run) throws OrtException {
        int b = batch.size();
        int hidden = graphs.manifest().llm().hiddenSize();
        int queries = graphs.manifest().qformer().queryTokens();
        int promptMax = batch.stream().mapToInt(r -> r.promptIds().length).max().orElse(0);
        long[] ids = new long[b * promptMax];
        Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            long[] p = batch.get(r).promptIds();
            System.arraycopy(p, 0, ids, r * promptMax + promptMax - p.length, p.length);
        }
        float[] promptEmbeds = promptMax == 0 ? new float[0] : graphs.embed(ids, b, promptMax, run);

        int length = queries + promptMax;
        float[] embeds = new float[b * length * hidden];
        long[] positions = new long[b * length];
        mask = new long[b * length];
        nextPosition = new long[b];
        for (int r = 0; r < b; r++) {
            PrefillRow row = batch.get(r);
            int pad = promptMax - row.promptIds().length;
            int base = r * length;
            System.arraycopy(row.languageEmbeds(), 0, embeds, (base + pad) * hidden, queries * hidden);
            System.arraycopy(promptEmbeds, (r * promptMax + pad) * hidden, embeds, (base + pad + queries) * hidden,
                    row.promptIds().length * hidden);
            for (int t = 0; t < length; t++) {
                boolean real = t >= pad;
                mask[base + t] = real ? 1 : 0;
                positions[base + t] = real ? t - pad : 1;
            }
            nextPosition[r] = length - pad;
        }
        rows = b;
        total = length;
        return new Prefill(embeds, positions, length);
    }

    /** New row i continues old row {@code sourceRows[i]}: its mask grows by the new token's position. */
    Step advance(int[] sourceRows) {
        int r = sourceRows.length;
        int past = total;
        int grown = past + 1;
        long[] newMask = new long[r * grown];
        long[] positions = new long[r];
        long[] newNext = new long[r];
        for (int i = 0; i < r; i++) {
            int src = sourceRows[i];
            System.arraycopy(mask, src * past, newMask, i * grown, past);
            newMask[i * grown + past] = 1;
            positions[i] = nextPosition[src];
            newNext[i] = nextPosition[src] + 1;
        }
        mask = newMask;
        nextPosition = newNext;
        rows = r;
        total = grown;
        return new Step(positions);
    }

    int rows() {
        return rows;
    }

    /** Positions the mask covers: the past plus the positions being run. */
    int total() {
        return total;
    }

    long[] mask() {
        return mask;
    }

    /** beam_idx at prefill: every row its own. */
    static long[] identity(int rows) {
        long[] ids = new long[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = i;
        }
        return ids;
    }

    /** beam_idx for a step: new row i continues old row {@code sourceRows[i]}. */
    static long[] beamIdx(int[] sourceRows) {
        long[] ids = new long[sourceRows.length];
        for (int i = 0; i < sourceRows.length; i++) {
            ids[i] = sourceRows[i];
        }
        return ids;
    }

    /** Whether the search kept every row where it was: no reorder needed. */
    static boolean isIdentity(int[] sourceRows, int previousRows) {
        if (sourceRows.length != previousRows) {
            return false;
        }
        for (int i = 0; i < sourceRows.length; i++) {
            if (sourceRows[i] != i) {
                return false;
            }
        }
        return true;
    }
}
