%% Test certificates for the TLS and HTTP/3 suites.
-module(hb_certs).
-export([make/1]).

%% A CA, a server certificate for 127.0.0.1 and localhost signed by it, and a client
%% certificate signed by it; self-made with openssl.
make(Dir) ->
    F = fun(Name) -> filename:join(Dir, Name) end,
    Run = fun(Args) -> os:cmd(lists:flatten(lists:join(" ", ["openssl" | Args])) ++ " 2>&1") end,
    %% Extensions strict verifiers (Python 3.13's ssl, webpki) insist on.
    Run(["req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hornbeam-test-ca",
         "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
         "-keyout", F("ca.key"), "-out", F("ca.pem")]),
    Leaf = fun(Name, Usage, Extra) ->
               Ext = ["basicConstraints=CA:FALSE\n", "keyUsage=critical,digitalSignature,keyEncipherment\n",
                      "extendedKeyUsage=", Usage, "\n", "subjectKeyIdentifier=hash\n",
                      "authorityKeyIdentifier=keyid,issuer\n", Extra],
               ok = file:write_file(F(Name ++ ".ext"), Ext),
               Run(["req -newkey rsa:2048 -nodes -subj /CN=" ++ Name, "-keyout", F(Name ++ ".key"),
                    "-out", F(Name ++ ".csr")]),
               Run(["x509 -req -days 2 -in", F(Name ++ ".csr"), "-CA", F("ca.pem"), "-CAkey", F("ca.key"),
                    "-CAcreateserial -extfile", F(Name ++ ".ext"), "-out", F(Name ++ ".pem")])
           end,
    Leaf("server", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
    Leaf("client", "clientAuth", ""),
    [true = filelib:is_regular(F(N)) || N <- ["ca.pem", "server.pem", "server.key", "client.pem", "client.key"]],
    #{ca => F("ca.pem"), cert => F("server.pem"), key => F("server.key"),
      client_cert => F("client.pem"), client_key => F("client.key")}.
