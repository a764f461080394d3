%% @doc Publish/subscribe over `pg': a topic is a `pg' group in the `hornbeam_pubsub'
%% scope, so subscribers on every connected node receive what any node publishes.
%% Subscribers get `{hornbeam_pubsub, Topic, Message}'. A topic from Python is a
%% binary (`<<"chat:lobby">>').
%%
%% Python subscribes through a mailbox (native/hornbeam_nif/src/mailbox.rs): a small
%% process joins the group for it and delivers each message to the mailbox until
%% Python closes it.
-module(hornbeam_pubsub).

-export([start_link/0, subscribe/1, unsubscribe/1, publish/2, subscribers/1,
         subscribe_mailbox/2]).

-define(SCOPE, ?MODULE).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    pg:start_link(?SCOPE).

%% @doc The calling process receives what is published on `Topic', from any node.
-spec subscribe(term()) -> ok.
subscribe(Topic) ->
    pg:join(?SCOPE, Topic, self()).

-spec unsubscribe(term()) -> ok | not_joined.
unsubscribe(Topic) ->
    pg:leave(?SCOPE, Topic, self()).

%% @doc Sends `Message' to every subscriber of `Topic' in the cluster; how many.
-spec publish(term(), term()) -> non_neg_integer().
publish(Topic, Message) ->
    Members = pg:get_members(?SCOPE, Topic),
    _ = [Pid ! {hornbeam_pubsub, Topic, Message} || Pid <- Members],
    length(Members).

-spec subscribers(term()) -> [pid()].
subscribers(Topic) ->
    pg:get_members(?SCOPE, Topic).

%% @doc Subscribes mailbox `Id' to `Topic'; returns once the subscription counts.
-spec subscribe_mailbox(term(), non_neg_integer()) -> ok | {error, closed}.
subscribe_mailbox(Topic, Id) ->
    Caller = self(),
    {Pid, Ref} = spawn_monitor(fun() -> mailbox_subscriber(Caller, Topic, Id) end),
    receive
        {Pid, subscribed} -> demonitor(Ref, [flush]), ok;
        {'DOWN', Ref, process, Pid, _} -> {error, closed}
    end.

mailbox_subscriber(Caller, Topic, Id) ->
    %% Python learns that the subscription ended if the scope (the application) goes.
    process_flag(trap_exit, true),
    link(whereis(?SCOPE)),
    case py_nif:mailbox_bind(Id, self()) of
        ok ->
            ok = subscribe(Topic),
            Caller ! {self(), subscribed},
            deliver(Id);
        closed ->
            ok
    end.

deliver(Id) ->
    receive
        {hornbeam_pubsub, _Topic, Message} ->
            case py_nif:mailbox_deliver(Id, Message) of
                closed -> ok;
                %% A subscriber that stopped reading loses messages, not memory.
                full -> deliver(Id);
                ok -> deliver(Id)
            end;
        {hornbeam_mailbox_closed, Id} ->
            ok;
        {'EXIT', _Scope, _Reason} ->
            py_nif:mailbox_end(Id)
    end.
