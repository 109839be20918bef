/*
 * mix64.h -- the splitmix64 finaliser (Steele, Lea, Flood 2014): spreads
 * the bits of a 64-bit value, for the persona's queue ids and the
 * campaign analyzer's MinHash. Both store what it returns (ids, campaign
 * signatures), so it must never change.
 */
#ifndef RT_MIX64_H
#define RT_MIX64_H

#include <stdint.h>

static inline uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif
