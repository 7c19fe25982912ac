/* A passive bystander: has nothing to do but must be stopped with the rest. */
#include <camkes.h>
