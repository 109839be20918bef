#!/usr/bin/env python3
"""bench/rcpt-memory.py BUILDDIR ['NAME = VALUE'...] -- resident memory of
relaytrapd's processes (parent and roles, VmRSS summed) before and after
20 sessions that each sent MAIL and 1,000 RCPT TO of 500 8-bit bytes
(every reply read), with the -o options given. Talks to 127.0.0.1 only."""
import os
import re
import socket
import subprocess
import sys
b=sys.argv[1]; extra=sys.argv[2:]
sp='/tmp/rcptmem-spool'; subprocess.run(['rm','-rf',sp])
p=subprocess.Popen([b+'/relaytrapd','-f','-c','/dev/null','-l','127.0.0.1:0','-s',sp,'-o','user = nobody','-o','analyzers = {}']+sum([['-o',e] for e in extra],[]),stdout=subprocess.PIPE,stderr=subprocess.DEVNULL,text=True)
port=int(re.search(r':(\d+)$',p.stdout.readline().strip()).group(1))
def rss_all():
    pids=[x for x in subprocess.run(['ps','-o','pid=','--ppid',str(p.pid)],capture_output=True,text=True).stdout.split()]+[str(p.pid)]
    tot=0
    for x in pids:
        for l in open('/proc/%s/status'%x):
            if l.startswith('VmRSS'): tot+=int(l.split()[1])
    return tot
r0=rss_all()
socks=[]
rc=b"RCPT TO:<" + b"\xff"*500 + b"@d.example>\r\n"
for i in range(20):
    s=socket.create_connection(('127.0.0.1',port)); f=s.makefile('rb')
    f.readline(); s.sendall(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\n"+rc*1000+b"NOOP\r\n")
    n=0
    while True:
        l=f.readline()
        if l.startswith(b"250 2.0.0 Ok") and n>=1001: break
        if l[3:4]==b' ': n+=1
        if n>=1003: break
    socks.append((s,f))
r1=rss_all()
print("options",extra,"RSS before %d KB, after 20 sessions with 1000 rcpts of 500 8-bit bytes: %d KB, %.1f MB per session"%(r0,r1,(r1-r0)/1024/20))
p.terminate(); p.wait()
