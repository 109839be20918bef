/*
 * fsyncbench.c -- what one durable write costs on the file system holding
 * DIR (500 times each, milliseconds per iteration): overwriting 2 KB in a
 * preallocated, already written file and fdatasync() (the commit
 * journal's case), appending 2 KB and fdatasync(), creating a 2 KB file
 * and fsync(), syncfs() with nothing dirty, creating a file and syncfs().
 * Leaves its files in DIR. BYTES (default 2048, at most 8192) sets the
 * size of the overwrite of the first test: a journal record of a 2 KB
 * message with its envelope is about 4.8 KB.
 * Build and run: cc -O2 -o fsyncbench bench/fsyncbench.c &&
 * ./fsyncbench DIR [BYTES]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int c,char**v){
 if (c < 2 || c > 3 || chdir(v[1]) != 0) { fprintf(stderr, "usage: fsyncbench DIR [BYTES]\n"); return 2; } char buf[8192]; memset(buf,'x',sizeof buf);
 int rec = c == 3 ? atoi(v[2]) : 2048; if (rec < 1 || rec > 8192) { fprintf(stderr, "fsyncbench: BYTES is 1..8192\n"); return 2; }
 int n=500;
 /* pre-zeroed log */
 int fd=open("log",O_RDWR|O_CREAT|O_TRUNC,0600);
 for(int i=0;i<n*2;i++) write(fd,buf,8192);
 fsync(fd);
 double t=now();
 for(int i=0;i<n;i++){ pwrite(fd,buf,rec,(off_t)i*8192); fdatasync(fd);}
 printf("overwrite %d bytes+fdatasync: %.3f ms\n",rec,(now()-t)*1000/n);
 /* append */
 int fa=open("app",O_RDWR|O_CREAT|O_TRUNC,0600);
 t=now();
 for(int i=0;i<n;i++){ write(fa,buf,2048); fdatasync(fa);}
 printf("append+fdatasync: %.3f ms\n",(now()-t)*1000/n);
 /* new file + fsync + syncfs */
 t=now();
 for(int i=0;i<n;i++){ char nm[32]; snprintf(nm,32,"f%d",i); int f=open(nm,O_WRONLY|O_CREAT,0600); write(f,buf,2048); fsync(f); close(f);}
 printf("create+fsync: %.3f ms\n",(now()-t)*1000/n);
 t=now();
 for(int i=0;i<n;i++){ syncfs(fd);}
 printf("syncfs idle: %.3f ms\n",(now()-t)*1000/n);
 t=now();
 for(int i=0;i<n;i++){ char nm[32]; snprintf(nm,32,"g%d",i); int f=open(nm,O_WRONLY|O_CREAT,0600); write(f,buf,2048); close(f); syncfs(fd);}
 printf("create+syncfs: %.3f ms\n",(now()-t)*1000/n);
}
