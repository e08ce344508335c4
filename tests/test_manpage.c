/* test_manpage.c - recur(1) and --version.
 *
 *   every_flag_documented  for each subcommand, every flag its --help lists
 *                          appears in `recur man` as a tagged paragraph (both
 *                          come from the same option tables)
 *   version                `recur --version` and `recur version`: "recur X.Y.Z..."
 */
#include "test_util.h"

static char man[1 << 20];

static void every_flag_documented(void **state) {
    (void)state;
    assert_int_equal(tu_run(man, sizeof man, "'%s' man", tu_recur()), 0);
    assert_non_null(strstr(man, ".TH RECUR 1"));
    const char *cmds[] = {"data", "train", "eval", "sample", "inspect", "bench", "plot", "monitor"};
    int flags = 0;
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        char section[64], help[65536];
        snprintf(section, sizeof section, ".SS \"recur %s\"", cmds[c]);
        assert_non_null(strstr(man, section));
        assert_int_equal(tu_run(help, sizeof help, "'%s' %s --help", tu_recur(), cmds[c]), 0);
        /* Lines "  --name ..." of --help: each is "\-\-name" in the page. */
        for (const char *p = help; (p = strstr(p, "\n  --")); p += 3) {
            char name[64], roff[80];
            if (sscanf(p + 5, "%63[a-z0-9-]", name) != 1 || !strcmp(name, "help")) continue;
            snprintf(roff, sizeof roff, "\"\\-\\-");
            for (size_t i = 0, k = strlen(roff); name[i] && k + 3 < sizeof roff; i++)
                k += (size_t)snprintf(roff + k, sizeof roff - k, name[i] == '-' ? "\\-" : "%c", name[i]);
            if (!strstr(man, roff)) fail_msg("recur %s --%s is in --help but not in recur man (%s)", cmds[c], name, roff);
            flags++;
        }
    }
    assert_true(flags > 60);
}

static void version(void **state) {
    (void)state;
    char a[256], b[256];
    assert_int_equal(tu_run(a, sizeof a, "'%s' --version", tu_recur()), 0);
    assert_int_equal(tu_run(b, sizeof b, "'%s' version", tu_recur()), 0);
    assert_string_equal(a, b);
    int major, minor, patch;
    assert_int_equal(sscanf(a, "recur %d.%d.%d", &major, &minor, &patch), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_flag_documented),
        cmocka_unit_test(version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
