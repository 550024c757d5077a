package dev.captionfn.generate;

/** In-place log-softmax over one row, in float like PyTorch's, with the sum of exponentials kept in double. */
final class LogSoftmax {
    private LogSoftmax() {}

    static void apply(float[] x, int offset, int width) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + width; i++) {
            if (x[i] > max) {
                max = x[i];
            }
        }
        double sum = 0;
        for (int i = offset; i < offset + width; i++) {
            sum += Math.exp(x[i] - max);
        }
        float logSum = (float) Math.log(sum);
        for (int i = offset; i < offset + width; i++) {
            x[i] = (x[i] - max) - logSum;
        }
    }
}
