package dev.captionfn.lambda;

import dev.captionfn.caption.ServedModel;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.lang.management.ManagementFactory;
import java.util.concurrent.ExecutionException;
import org.jboss.logging.Logger;

/**
 * On Lambda the model is loaded during init, not in the first invocation: startup waits here for
 * the sessions and the warm-up caption, so the first request is not billed for them and does not
 * run into the function's timeout; the init time is logged.
 */
@ApplicationScoped
public class LambdaInit {
    private static final Logger LOG = Logger.getLogger(LambdaInit.class);

    void awaitModel(@Observes StartupEvent event, ServedModel served) throws InterruptedException {
        try {
            served.whenReady().toCompletableFuture().get();
        } catch (ExecutionException e) {
            // ServedModel has logged the reason and is ending the process: Lambda reports an init error
            return;
        }
        long sinceJvmStart = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        LOG.infof("init done in %d ms since the JVM started: model %s loaded in %d ms, warm-up caption in %d ms",
                sinceJvmStart, served.manifest().id(), served.loadMillis(), served.warmUpMillis());
    }
}
