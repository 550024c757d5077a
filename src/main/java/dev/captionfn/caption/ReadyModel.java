package dev.captionfn.caption;

import dev.captionfn.model.LoadedModel;
import dev.captionfn.batch.MicroBatcher;

/** A loaded, warmed-up model and the batcher that runs it. */
record ReadyModel(LoadedModel model, MicroBatcher batcher) {}
