// Linked into the bundle's binaries (tools/bundle.sh), which carry libstdc++ statically so that
// they run on glibc 2.34 / GLIBCXX_3.4.29 (RHEL 9). The one glibc function newer than 2.34 that
// the static libstdc++ of GCC 12 calls is arc4random (glibc 2.36, behind std::random_device,
// which Google Benchmark's --benchmark_enable_random_interleaving uses): this definition, from
// getrandom(2) (glibc 2.25), is what the link binds it to instead.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

uint32_t arc4random(void) {
  uint32_t v = 0;
  for (;;) {
    ssize_t n = getrandom(&v, sizeof v, 0);
    if (n == (ssize_t)sizeof v) return v;
    if (n < 0 && errno != EINTR) abort();  // no getrandom (a kernel before 3.17): nothing to fall back on
  }
}
