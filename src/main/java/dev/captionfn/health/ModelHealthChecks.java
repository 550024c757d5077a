package dev.captionfn.health;

import dev.captionfn.caption.ServedModel;
import dev.captionfn.ort.GraphSession;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * The served model's health for Kubernetes and Knative probes:
 *
 * <ul>
 *   <li>startup (/q/health/started) and readiness (/q/health/ready): UP once every session exists
 *       and the warm-up caption has run, so no request is routed to a cold instance (readiness
 *       also turns DOWN while the application shuts down, which SmallRye Health does itself);
 *   <li>liveness (/q/health/live): DOWN only when the model failed to load, which also ends the
 *       process; a slow load is not a dead process.
 * </ul>
 */
@ApplicationScoped
public class ModelHealthChecks {
    static final String NAME = "model";

    private final ServedModel served;

    public ModelHealthChecks(ServedModel served) {
        this.served = served;
    }

    @Produces
    @Readiness
    HealthCheck ready() {
        return () -> describe(served.phase() == ServedModel.Phase.READY);
    }

    @Produces
    @Startup
    HealthCheck started() {
        return () -> describe(served.phase() == ServedModel.Phase.READY);
    }

    @Produces
    @Liveness
    HealthCheck alive() {
        return () -> describe(served.phase() != ServedModel.Phase.FAILED);
    }

    private HealthCheckResponse describe(boolean up) {
        HealthCheckResponseBuilder response = HealthCheckResponse.named(NAME).status(up)
                .withData("id", served.manifest().id())
                .withData("phase", served.phase().name())
                .withData("dir", served.dir().toString());
        if (served.loadMillis() >= 0) {
            response.withData("loadMs", served.loadMillis());
        }
        if (served.warmUpMillis() >= 0) {
            response.withData("warmUpMs", served.warmUpMillis());
        }
        if (!served.sessions().isEmpty()) {
            response.withData("sessions", GraphSession.summary(served.sessions()));
        }
        for (int i = 0; i < served.warnings().size(); i++) {
            response.withData("warning" + (i + 1), served.warnings().get(i));
        }
        if (served.failure() != null) {
            response.withData("failure", served.failure());
        }
        return response.build();
    }
}
