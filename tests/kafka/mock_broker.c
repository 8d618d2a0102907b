/*
 * mock_broker: librdkafka's mock Kafka cluster as a process, a real Kafka-protocol
 * peer on loopback TCP ports for the test suite.
 *
 *   mock_broker [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints one line "BOOTSTRAP host:port[,host:port...]" once the topics exist, then
 * reads commands from stdin, one per line, each answered by one line "OK" or
 * "ERR <reason>" on stdout:
 *
 *   topic NAME:PARTITIONS   create a topic
 *   down BROKER_ID          disconnect a broker and refuse new connections (-1: all)
 *   up BROKER_ID            accept connections again (-1: all)
 *
 * Stdin at EOF, SIGTERM or SIGINT destroy the cluster and exit 0; bad arguments
 * exit 2. Topics are never created implicitly: Metadata v3+ is enabled, so clients
 * that send allowAutoTopicCreation=false get UNKNOWN_TOPIC_OR_PARTITION.
 *
 * Build: cc -O2 -o mock_broker mock_broker.c $(pkg-config --cflags --libs rdkafka)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) { stop_signal = sig; }

static void usage(const char *argv0) {
        fprintf(stderr, "usage: %s [--brokers N] [--topic NAME:PARTITIONS]...\n", argv0);
        exit(2);
}

/* Creates NAME:PARTITIONS (spec is modified). Returns an error text or NULL. */
static const char *create_topic(rd_kafka_mock_cluster_t *mcluster, char *spec, int brokers) {
        char *colon = strrchr(spec, ':');
        if (!colon || colon == spec || atoi(colon + 1) < 1)
                return "expected NAME:PARTITIONS";
        *colon = '\0';
        /* Replication factor = broker count, capped at 3 as Kafka would. */
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(mcluster, spec, atoi(colon + 1), brokers < 3 ? brokers : 3);
        return err ? rd_kafka_err2str(err) : NULL;
}

/* Runs one stdin command and answers it on stdout. */
static void command(rd_kafka_mock_cluster_t *mcluster, char *line, int brokers) {
        char verb[16];
        char arg[512];
        const char *problem = NULL;
        line[strcspn(line, "\r\n")] = '\0';
        if (sscanf(line, "%15s %511s", verb, arg) != 2) {
                problem = "expected: topic NAME:PARTITIONS | down ID | up ID";
        } else if (!strcmp(verb, "topic")) {
                problem = create_topic(mcluster, arg, brokers);
        } else if (!strcmp(verb, "down") || !strcmp(verb, "up")) {
                int32_t id = atoi(arg);
                rd_kafka_resp_err_t err = !strcmp(verb, "down")
                                              ? rd_kafka_mock_broker_set_down(mcluster, id)
                                              : rd_kafka_mock_broker_set_up(mcluster, id);
                problem = err ? rd_kafka_err2str(err) : NULL;
        } else {
                problem = "unknown command; use topic, down or up";
        }
        if (problem)
                printf("ERR %s\n", problem);
        else
                printf("OK\n");
        fflush(stdout);
}

/* Serves stdin commands until EOF or a stop signal. SIGINT and SIGTERM stay blocked
 * except inside ppoll(), so the handler cannot race with the flag check. */
static void serve(rd_kafka_mock_cluster_t *mcluster, int brokers, const sigset_t *unblocked) {
        char buf[4096];
        size_t used = 0;
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

        while (!stop_signal) {
                int r = ppoll(&pfd, 1, NULL, unblocked);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("mock_broker: ppoll");
                        return;
                }
                ssize_t n = read(STDIN_FILENO, buf + used, sizeof(buf) - 1 - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* EOF: whoever started us is gone */
                used += (size_t)n;
                buf[used] = '\0';
                char *start = buf;
                char *newline;
                while ((newline = strchr(start, '\n'))) {
                        *newline = '\0';
                        command(mcluster, start, brokers);
                        start = newline + 1;
                }
                used -= (size_t)(start - buf);
                memmove(buf, start, used);
                if (used == sizeof(buf) - 1)
                        used = 0; /* an absurdly long line: drop it */
        }
}

int main(int argc, char **argv) {
        int brokers = 1;
        char errstr[512];
        sigset_t stopset, oldset;
        struct sigaction sa;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
                        brokers = atoi(argv[++i]);
                        if (brokers < 1)
                                usage(argv[0]);
                } else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
                        const char *colon = strrchr(argv[++i], ':');
                        if (!colon || colon == argv[i] || atoi(colon + 1) < 1)
                                usage(argv[0]);
                } else {
                        usage(argv[0]);
                }
        }

        /* Block the stop signals before librdkafka starts its threads (they inherit
         * the mask), so that only the main thread handles them. */
        sigemptyset(&stopset);
        sigaddset(&stopset, SIGINT);
        sigaddset(&stopset, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stopset, &oldset);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* The mock cluster needs a host rd_kafka_t; it never connects anywhere.
         * log_level 4 hides its notice that no bootstrap.servers is configured. */
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "client.id", "mock_broker", errstr, sizeof(errstr)) ||
            rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr))) {
                fprintf(stderr, "mock_broker: %s\n", errstr);
                return 1;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock_broker: rd_kafka_new: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mcluster) {
                fprintf(stderr, "mock_broker: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        /* librdkafka 2.0.2's mock advertises Metadata up to v2, which has no
         * AllowAutoTopicCreation flag, so any unknown topic a client names would be
         * created (4 partitions). Its handler speaks v3..v8 already: enable them. */
        if (rd_kafka_mock_set_apiversion(mcluster, 3 /* Metadata */, 0, 8))
                fprintf(stderr, "mock_broker: could not enable Metadata v3..v8\n");

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--topic"))
                        continue;
                char *spec = argv[++i];
                const char *problem = create_topic(mcluster, spec, brokers);
                if (problem) {
                        fprintf(stderr, "mock_broker: topic %s: %s\n", spec, problem);
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 1;
                }
        }

        printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        serve(mcluster, brokers, &oldset);

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
