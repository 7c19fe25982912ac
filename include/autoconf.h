/* <autoconf.h>: the build configuration the seed's specs include. cxvm has no Kconfig;
 * these are the settings a CAmkES x86 VM build would have. */
#pragma once
#define CONFIG_ARCH_X86 1
#define CONFIG_ARCH_X86_64 1
#define CONFIG_CAMKES_VM 1
#define CONFIG_CXVM 1
