"""The services each environment cannot provide, declared once per domain (see :mod:`ugst_dspy.envs.services`).

τ-retail and τ-airline entries come from the domain's policy (``tau_bench/policy/<domain>.md``) and tool
schemas (``tau_bench/tools/<domain>.json``): each is a thing the policy forbids or no tool can do, and its
``reason`` says which. The published and strict classes of a domain share one tuple (the policy and the
tools are the same; only how strictly the tools check differs). MultiWOZ entries are what the information
desk's ten tools (searches, and bookings of restaurants, hotels, trains and taxis) leave out.

Keywords are lower-case phrases one of which a user message asking for the service would contain; they are
kept specific, so that an ordinary request of the domain (a return, train tickets, a taxi to the airport) does
not read as one.
"""

from __future__ import annotations

from ugst_dspy.envs.services import UnavailableService

RETAIL_UNAVAILABLE: tuple[UnavailableService, ...] = (
    UnavailableService(
        id="price_match",
        request="match a lower price you saw for one of your items at another store, or give you a discount",
        reason="no tool changes an item's price or applies a discount: items are only swapped for other options "
               "at their listed price, and the policy forbids making up procedures the tools do not provide",
        keywords=("price match", "match the price", "lower price", "discount", "coupon"),
    ),
    UnavailableService(
        id="place_new_order",
        request="place a new order for an item you want to buy",
        reason="the policy lets the agent cancel or modify pending orders, return or exchange delivered ones and "
               "change the default address; no tool creates an order",
        keywords=("place an order", "place a new order", "new order", "order another", "buy another"),
    ),
    UnavailableService(
        id="cancel_delivered_order",
        request="cancel an order of yours that has already been delivered and refund it",
        reason="policy: an order can only be cancelled if its status is 'pending' (a delivered order can only "
               "be returned or exchanged); cancel_pending_order refuses any other status",
        keywords=("cancel the delivered", "cancel my delivered", "cancel a delivered", "cancel it even though",
                  "already delivered"),
    ),
    UnavailableService(
        id="redirect_shipped_order",
        request="change the shipping address of an order that has already shipped or been delivered",
        reason="policy: only a pending order can be modified (its shipping address, payment method or item "
               "options); modify_pending_order_address refuses a processed or delivered order",
        keywords=("redirect", "reroute", "already shipped", "change the delivery address", "new shipping address"),
    ),
    UnavailableService(
        id="gift_wrap",
        request="add gift wrapping and a gift message to one of your orders",
        reason="policy: a pending order can have its shipping address, payment method or item options modified, "
               "but nothing else; no tool records wrapping or a message",
        keywords=("gift wrap", "gift-wrap", "gift wrapping", "gift message", "wrap it"),
    ),
    UnavailableService(
        id="express_shipping",
        request="upgrade one of your orders to express or next-day shipping",
        reason="policy: a pending order can have its shipping address, payment method or item options modified, "
               "but nothing else; no tool or order field sets a shipping speed",
        keywords=("express shipping", "expedite", "next-day", "next day delivery", "overnight shipping"),
    ),
    UnavailableService(
        id="refund_to_other_method",
        request="send the refund for a returned item to a card or account other than the one you paid with",
        reason="policy: the refund of a return must go either to the original payment method or to an existing "
               "gift card; return_delivered_order_items refuses any other method",
        keywords=("different card", "another card", "other card", "different payment method", "new card"),
    ),
)
"""What τ-retail's agent must decline (``tau-retail`` and ``tau-retail-strict``)."""

AIRLINE_UNAVAILABLE: tuple[UnavailableService, ...] = (
    UnavailableService(
        id="change_basic_economy_flights",
        request="move your basic economy reservation to different flights or dates",
        reason="policy: basic economy flights cannot be modified (only their cabin can change); the strict "
               "update_reservation_flights refuses it",
        keywords=("basic economy", "different flight", "change my flight", "change the flight", "another date"),
    ),
    UnavailableService(
        id="remove_checked_bags",
        request="remove checked bags from your reservation and refund what you paid for them",
        reason="policy: the user can add but not remove checked bags; the strict update_reservation_baggages "
               "refuses fewer bags",
        keywords=("remove a bag", "remove the bag", "remove checked", "fewer bags", "refund for the bag"),
    ),
    UnavailableService(
        id="add_insurance_after_booking",
        request="add travel insurance to a reservation you have already booked",
        reason="policy: the user cannot add insurance after initial booking; only book_reservation takes an "
               "insurance argument",
        keywords=("add insurance", "add travel insurance", "buy insurance", "get insurance", "insurance now"),
    ),
    UnavailableService(
        id="change_passenger_count",
        request="add another passenger to an existing reservation",
        reason="policy: passengers can be modified but not their number, which even a human agent cannot assist "
               "with; update_reservation_passengers refuses a different count",
        keywords=("add a passenger", "add another passenger", "one more passenger", "extra passenger",
                  "remove a passenger"),
    ),
    UnavailableService(
        id="seat_selection",
        request="reserve specific seats on your flight, such as a window or an aisle seat",
        reason="no tool assigns seats: flights only count the seats left per cabin, and the agent must not make "
               "up procedures the tools do not provide",
        keywords=("window seat", "aisle seat", "seat selection", "choose my seat", "seat assignment"),
    ),
    UnavailableService(
        id="compensation_without_disruption",
        request="give you a travel certificate as compensation although none of your flights was cancelled or "
                "delayed",
        reason="policy: a certificate may be offered only to an eligible user (silver/gold, insured or business) "
               "who complains about a cancelled or delayed flight; nothing else is compensated",
        keywords=("compensation", "compensate", "certificate", "voucher", "goodwill"),
    ),
    UnavailableService(
        id="pay_with_miles",
        request="pay for a booking or a cabin upgrade with frequent-flyer miles or points",
        reason="policy: payment methods must already be in the user profile, and they are credit cards, gift "
               "cards and travel certificates only; no profile holds miles",
        keywords=("air miles", "with miles", "my miles", "frequent flyer", "loyalty points"),
    ),
)
"""What τ-airline's agent must decline (``tau-airline`` and ``tau-airline-strict``)."""

MULTIWOZ_UNAVAILABLE: tuple[UnavailableService, ...] = (
    UnavailableService(
        id="attraction_tickets",
        request="buy entrance tickets for an attraction or a show",
        reason="attractions can only be searched (find_attraction gives the entrance fee); no tool books or "
               "sells attraction tickets",
        keywords=("entrance ticket", "admission ticket", "museum ticket", "theatre ticket", "show ticket"),
    ),
    UnavailableService(
        id="car_rental",
        request="rent a car for you to drive yourself during your stay",
        reason="the only road transport tool is book_taxi, a taxi with a driver; nothing rents a car",
        keywords=("rent a car", "car rental", "hire a car", "car hire", "rental car"),
    ),
    UnavailableService(
        id="flight_booking",
        request="book a flight for your journey",
        reason="the desk books trains and taxis only (book_train, book_taxi); there is no flight search or "
               "booking",
        keywords=("flight", "fly to", "plane ticket"),
    ),
    UnavailableService(
        id="hospital_appointment",
        request="book you an appointment with a doctor at the hospital",
        reason="find_hospital gives a department's phone number; no tool makes hospital appointments",
        keywords=("book an appointment", "make an appointment", "doctor's appointment", "see a doctor"),
    ),
    UnavailableService(
        id="food_delivery",
        request="order a take-away or have food from a restaurant delivered to you",
        reason="book_restaurant books a table; no tool orders food for collection or delivery",
        keywords=("delivery", "deliver", "take-away", "takeaway", "take away"),
    ),
    UnavailableService(
        id="tour_guide",
        request="book a guided tour or a tour guide to show you around town",
        reason="attractions can only be searched; no tool books tours or guides",
        keywords=("tour guide", "guided tour", "walking tour", "book a tour"),
    ),
)
"""What the MultiWOZ information desk must decline (``multiwoz``)."""
