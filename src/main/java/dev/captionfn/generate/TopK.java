package dev.captionfn.generate;

import java.util.Arrays;

/**
 * The k largest values of an array with their indices, largest first; among equal values the lower
 * index first. A partial selection, since beam search keeps 2·beams of beams·vocabulary candidates.
 */
final class TopK {
    final int[] indices;
    final float[] values;

    private TopK(int[] indices, float[] values) {
        this.indices = indices;
        this.values = values;
    }

    static TopK of(float[] x, int length, int k) {
        int n = Math.min(k, length);
        int[] idx = new int[n];
        float[] val = new float[n];
        Arrays.fill(val, Float.NEGATIVE_INFINITY);
        Arrays.fill(idx, Integer.MAX_VALUE);
        int filled = 0;
        for (int i = 0; i < length; i++) {
            float v = x[i];
            if (Float.isNaN(v)) {
                v = Float.NEGATIVE_INFINITY;
            }
            if (filled == n && !(v > val[n - 1])) {
                continue;
            }
            int pos = filled < n ? filled++ : n - 1;
            // strictly greater moves ahead, so an equal value stays behind the earlier index
            while (pos > 0 && v > val[pos - 1]) {
                val[pos] = val[pos - 1];
                idx[pos] = idx[pos - 1];
                pos--;
            }
            val[pos] = v;
            idx[pos] = i;
        }
        return new TopK(idx, val);
    }
}
